/**
 * BatchNormalization over the last axis. Training: whole-batch statistics, summed over the
 * shards through `sync` (synchronous BN: any split of the batch computes the same thing), biased
 * variance as tf.moments; the batch mean and variance go to `ctx.state` for the moving averages.
 * Inference: the moving statistics.
 */
import type { LayerKind } from "./_types.ts";

interface Cache {
  mean: Float32Array;
  invstd: Float32Array;
}

export const batchNorm: LayerKind = {
  classNames: ["BatchNormalization"],
  plan(config, [inShape]) {
    const rank = inShape.length + 1, axis = config.axis ?? -1;
    if (axis !== -1 && axis !== rank - 1) {
      throw new Error(`field "axis" is ${JSON.stringify(axis)}, only the last axis is supported`);
    }
    const c = inShape[inShape.length - 1];
    const weights = [];
    if (config.scale !== false) weights.push({ name: "gamma", shape: [c], trainable: true });
    if (config.center !== false) weights.push({ name: "beta", shape: [c], trainable: true });
    weights.push({ name: "moving_mean", shape: [c], trainable: false });
    weights.push({ name: "moving_variance", shape: [c], trainable: false });
    return { outShape: inShape, weights };
  },
  async forward(node, [x], weights, ctx) {
    const { gamma, beta, movingMean, movingVar } = unpack(node.config, weights);
    const c = movingMean.length, eps = Number(node.config.epsilon ?? 1e-3);
    const out = ctx.alloc.f32(x.length), invstd = new Float32Array(c);
    if (!ctx.training) {
      for (let j = 0; j < c; j++) invstd[j] = 1 / Math.sqrt(movingVar[j] + eps);
      ctx.kernels.bnApply(x, movingMean, invstd, gamma, beta, out);
      return { out };
    }
    const sums = new Float64Array(2 * c);
    ctx.kernels.channelSums(x, c, sums);
    const tot = await ctx.sync(`${node.name}/f`, sums);
    const m = ctx.batchTotal * (x.length / ctx.n / c);
    const mean = new Float32Array(c), variance = new Float32Array(c);
    for (let j = 0; j < c; j++) {
      const mu = tot[j] / m;
      const v = Math.max(tot[c + j] / m - mu * mu, 0);
      mean[j] = mu;
      variance[j] = v;
      invstd[j] = 1 / Math.sqrt(v + eps);
    }
    ctx.state[node.name] = [mean, variance];
    ctx.kernels.bnApply(x, mean, invstd, gamma, beta, out);
    return { out, cache: { mean, invstd } satisfies Cache };
  },
  async backward(node, dOut, fwd, [x], weights, dW, needInput, ctx) {
    const { mean, invstd } = fwd.cache as Cache;
    const { gamma } = unpack(node.config, weights);
    const c = invstd.length;
    const sums = new Float64Array(2 * c); // Σ dy, Σ dy·xhat over this shard
    ctx.kernels.bnGradSums(x, dOut, mean, invstd, sums);
    let k = 0;
    if (node.config.scale !== false) { for (let j = 0; j < c; j++) dW[k][j] = sums[c + j]; }
    if (node.config.scale !== false) k++;
    if (node.config.center !== false) { for (let j = 0; j < c; j++) dW[k][j] = sums[j]; }
    if (!needInput[0]) return [null];
    const tot = await ctx.sync(`${node.name}/b`, sums);
    const m = ctx.batchTotal * (dOut.length / ctx.n / c);
    const scale = new Float32Array(c), mdy = new Float32Array(c), mdyx = new Float32Array(c);
    for (let j = 0; j < c; j++) {
      scale[j] = gamma[j] * invstd[j];
      mdy[j] = tot[j] / m;
      mdyx[j] = tot[c + j] / m;
    }
    const dx = ctx.alloc.f32(dOut.length);
    ctx.kernels.bnGradInput(x, dOut, mean, invstd, scale, mdy, mdyx, dx);
    return [dx];
  },
};

/** The layer's vectors; an absent gamma is ones and an absent beta zeros. */
function unpack(config: Record<string, unknown>, w: Float32Array[]) {
  let k = 0;
  const c = w[w.length - 1].length;
  const gamma = config.scale !== false ? w[k++] : new Float32Array(c).fill(1);
  const beta = config.center !== false ? w[k++] : new Float32Array(c);
  return { gamma, beta, movingMean: w[k], movingVar: w[k + 1] };
}

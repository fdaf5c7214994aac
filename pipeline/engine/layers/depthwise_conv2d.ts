/** DepthwiseConv2D: one kh×kw filter per input channel (× depthMultiplier); kernel [kh, kw, ci, mult]. */
import { activate, activationGrad, activationOf } from "./_activation.ts";
import { biasGrad, convSpatial, geom, positiveInt } from "./_conv_common.ts";
import { channelsLast, noDilation } from "./_conv_geom.ts";
import type { LayerKind } from "./_types.ts";

export const depthwiseConv2d: LayerKind = {
  classNames: ["DepthwiseConv2D"],
  plan(config, [inShape]) {
    noDilation(config);
    channelsLast(config);
    activationOf(config);
    const s = convSpatial(config, inShape), mult = positiveInt(config, "depthMultiplier", 1);
    const weights = [{ name: "depthwise_kernel", shape: [s.kh, s.kw, s.ci, mult], trainable: true }];
    if (config.useBias !== false) weights.push({ name: "bias", shape: [s.ci * mult], trainable: true });
    return { outShape: [s.oh, s.ow, s.ci * mult], weights };
  },
  forward(node, [x], [kernel, bias], ctx) {
    const s = convSpatial(node.config, node.inShapes[0]), co = node.outShape[2];
    const out = ctx.alloc.f32(ctx.n * s.oh * s.ow * co);
    ctx.kernels.depthwise2d(x, kernel, out, geom(s, ctx.n, co, co / s.ci));
    if (bias) addBias(out, bias);
    activate(activationOf(node.config), out, co, ctx.kernels);
    return { out };
  },
  backward(node, dOut, fwd, [x], [kernel], dW, needInput, ctx) {
    const s = convSpatial(node.config, node.inShapes[0]), co = node.outShape[2];
    const g = geom(s, ctx.n, co, co / s.ci);
    const dz = activationGrad(activationOf(node.config), fwd.out, dOut, co, ctx);
    ctx.kernels.depthwise2dGradFilter(x, dz, dW[0], g);
    if (dW[1]) biasGrad(dz, co, dW[1], ctx.kernels);
    if (!needInput[0]) return [null];
    const dx = ctx.alloc.f32(x.length);
    ctx.kernels.depthwise2dGradInput(dz, kernel, dx, g);
    return [dx];
  },
};

/** y[p, c] += bias[c]. */
export function addBias(y: Float32Array, bias: Float32Array): void {
  const c = bias.length;
  for (let i = 0; i < y.length; i += c) for (let j = 0; j < c; j++) y[i + j] += bias[j];
}

/** Layers that act on each value alone or only reshape: Activation, ReLU, Dropout, Flatten. */
import { activate, activationGrad, activationOf } from "./_activation.ts";
import type { LayerKind } from "./_types.ts";
import { sizeOf } from "./_types.ts";

const keepShape = (_c: unknown, [s]: number[][]) => ({ outShape: s, weights: [] });
const lastDim = (shape: number[]) => shape[shape.length - 1];

export const activation: LayerKind = {
  classNames: ["Activation"],
  plan(config, inShapes) {
    activationOf(config);
    return keepShape(config, inShapes);
  },
  forward(node, [x], _w, ctx) {
    const out = x.slice();
    activate(activationOf(node.config), out, lastDim(node.outShape), ctx.kernels);
    return { out };
  },
  backward(node, dOut, fwd, _x, _w, _dW, needInput, ctx) {
    const f = activationOf(node.config);
    return [needInput[0] ? activationGrad(f, fwd.out, dOut, lastDim(node.outShape), ctx) : null];
  },
};

/** tfjs' ReLU layer: max(x, 0), capped at `maxValue` when it is 6 (ReLU6). */
function reluKind(config: Record<string, unknown>) {
  const max = config.maxValue;
  if (max == null) return "relu" as const;
  if (max === 6) return "relu6" as const;
  throw new Error(`field "maxValue" is ${JSON.stringify(max)}, only null or 6 is supported`);
}

export const relu: LayerKind = {
  classNames: ["ReLU"],
  plan(config, inShapes) {
    reluKind(config);
    return keepShape(config, inShapes);
  },
  forward(node, [x], _w, ctx) {
    const out = ctx.alloc.f32(x.length);
    if (reluKind(node.config) === "relu") ctx.kernels.relu(x, out);
    else {
      out.set(x);
      activate(reluKind(node.config), out, 1, ctx.kernels);
    }
    return { out };
  },
  backward(node, dOut, fwd, _x, _w, _dW, needInput, ctx) {
    return [needInput[0] ? activationGrad(reluKind(node.config), fwd.out, dOut, 1, ctx) : null];
  },
};

/** Dropout: in training, multiplies by the step's mask (0 or 1/(1 − rate)) that the trainer drew. */
export const dropout: LayerKind = {
  classNames: ["Dropout"],
  plan(config, inShapes) {
    if (config.noiseShape != null) throw new Error(`field "noiseShape" is not supported`);
    const rate = config.rate;
    if (typeof rate !== "number" || rate < 0 || rate >= 1) {
      throw new Error(`field "rate" is ${JSON.stringify(rate)}, expected a number in [0, 1)`);
    }
    return keepShape(config, inShapes);
  },
  forward(node, [x], _w, ctx) {
    const mask = ctx.training ? ctx.dropMasks[node.name] : undefined;
    if (!mask) return { out: x };
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] * mask[i];
    return { out };
  },
  backward(node, dOut, _fwd, _x, _w, _dW, needInput, ctx) {
    if (!needInput[0]) return [null];
    const mask = ctx.dropMasks[node.name];
    if (!mask) return [dOut];
    const dx = new Float32Array(dOut.length);
    for (let i = 0; i < dOut.length; i++) dx[i] = dOut[i] * mask[i];
    return [dx];
  },
};

export const flatten: LayerKind = {
  classNames: ["Flatten"],
  plan(_config, [s]) {
    return { outShape: [sizeOf(s)], weights: [] };
  },
  forward: (_node, [x]) => ({ out: x }),
  backward: (_node, dOut, _fwd, _x, _w, _dW, needInput) => [needInput[0] ? dOut : null],
};

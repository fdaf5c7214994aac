/** Dense over the last axis: y = act(x · kernel + bias), kernel [in, units]. */
import { activate, activationGrad, activationOf } from "./_activation.ts";
import { biasGrad, positiveInt } from "./_conv_common.ts";
import type { LayerKind } from "./_types.ts";

export const dense: LayerKind = {
  classNames: ["Dense"],
  plan(config, [inShape]) {
    activationOf(config);
    const units = positiveInt(config, "units"), k = inShape[inShape.length - 1];
    const weights = [{ name: "kernel", shape: [k, units], trainable: true }];
    if (config.useBias !== false) weights.push({ name: "bias", shape: [units], trainable: true });
    return { outShape: [...inShape.slice(0, -1), units], weights };
  },
  forward(node, [x], [kernel, bias], ctx) {
    const k = node.inShapes[0][node.inShapes[0].length - 1], u = kernel.length / k, rows = x.length / k;
    const out = new Float32Array(rows * u);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < u; j++) {
        let s = bias ? bias[j] : 0;
        for (let i = 0; i < k; i++) s += x[r * k + i] * kernel[i * u + j];
        out[r * u + j] = s;
      }
    }
    activate(activationOf(node.config), out, u, ctx.kernels);
    return { out };
  },
  backward(node, dOut, fwd, [x], [kernel], dW, needInput, ctx) {
    const k = node.inShapes[0][node.inShapes[0].length - 1], u = kernel.length / k, rows = x.length / k;
    const dz = activationGrad(activationOf(node.config), fwd.out, dOut, u, ctx);
    const acc = new Float64Array(k * u);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) {
        const xv = x[r * k + i];
        for (let j = 0; j < u; j++) acc[i * u + j] += xv * dz[r * u + j];
      }
    }
    dW[0].set(acc);
    if (dW[1]) biasGrad(dz, u, dW[1], ctx.kernels);
    if (!needInput[0]) return [null];
    const dx = new Float32Array(x.length);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) {
        let s = 0;
        for (let j = 0; j < u; j++) s += dz[r * u + j] * kernel[i * u + j];
        dx[r * k + i] = s;
      }
    }
    return [dx];
  },
};

/** Concatenate (last axis) and Add: the skip connections of U-Nets and residual blocks. */
import type { LayerKind } from "./_types.ts";
import { sizeOf } from "./_types.ts";

export const concatenate: LayerKind = {
  classNames: ["Concatenate"],
  plan(config, inShapes) {
    const rank = inShapes[0].length + 1, axis = config.axis ?? -1;
    if (axis !== -1 && axis !== rank - 1) {
      throw new Error(`field "axis" is ${JSON.stringify(axis)}, only the last axis is supported`);
    }
    const lead = inShapes[0].slice(0, -1);
    for (const s of inShapes) {
      if (s.length !== lead.length + 1 || s.slice(0, -1).some((d, i) => d !== lead[i])) {
        throw new Error(
          `inputs of shapes ${inShapes.map((s) => `[${s}]`).join(", ")} cannot be concatenated`,
        );
      }
    }
    return { outShape: [...lead, inShapes.reduce((a, s) => a + s[s.length - 1], 0)], weights: [] };
  },
  forward(node, inputs, _w, ctx) {
    const cs = node.inShapes.map((s) => s[s.length - 1]), c = node.outShape[node.outShape.length - 1];
    const rows = inputs[0].length / cs[0], out = ctx.alloc.f32(rows * c);
    let at = 0;
    inputs.forEach((x, k) => {
      const ck = cs[k];
      for (let r = 0; r < rows; r++) out.set(x.subarray(r * ck, r * ck + ck), r * c + at);
      at += ck;
    });
    return { out };
  },
  backward(node, dOut, _fwd, inputs, _w, _dW, needInput) {
    const cs = node.inShapes.map((s) => s[s.length - 1]), c = node.outShape[node.outShape.length - 1];
    const rows = dOut.length / c;
    let at = 0;
    return inputs.map((_x, k) => {
      const ck = cs[k], from = at;
      at += ck;
      if (!needInput[k]) return null;
      const dx = new Float32Array(rows * ck);
      for (let r = 0; r < rows; r++) dx.set(dOut.subarray(r * c + from, r * c + from + ck), r * ck);
      return dx;
    });
  },
};

export const add: LayerKind = {
  classNames: ["Add"],
  plan(_config, inShapes) {
    const want = inShapes[0].join(",");
    if (inShapes.some((s) => s.join(",") !== want)) {
      throw new Error(`inputs of shapes ${inShapes.map((s) => `[${s}]`).join(", ")} cannot be added`);
    }
    return { outShape: inShapes[0], weights: [] };
  },
  forward(node, inputs, _w, ctx) {
    const out = ctx.alloc.zeros(ctx.n * sizeOf(node.outShape));
    for (const x of inputs) for (let i = 0; i < out.length; i++) out[i] += x[i];
    return { out };
  },
  backward(_node, dOut, _fwd, inputs, _w, _dW, needInput) {
    return inputs.map((_x, k) => needInput[k] ? dOut.slice() : null);
  },
};

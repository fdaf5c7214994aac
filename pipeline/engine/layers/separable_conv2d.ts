/**
 * SeparableConv2D: a depthwise kh×kw conv (no bias) then a pointwise 1×1 conv with bias, then the
 * activation; weights depthwise_kernel [kh, kw, ci, mult], pointwise_kernel [1, 1, ci·mult, co], bias.
 */
import { activate, activationGrad, activationOf } from "./_activation.ts";
import { biasGrad, convSpatial, geom, positiveInt } from "./_conv_common.ts";
import { channelsLast, noDilation } from "./_conv_geom.ts";
import type { LayerKind } from "./_types.ts";

/** The pointwise step's geometry: a 1×1 stride-1 conv over the depthwise output. */
function pointwise(oh: number, ow: number, ci: number, co: number, n: number) {
  return { n, h: oh, w: ow, ci, co, kh: 1, kw: 1, sh: 1, sw: 1, pt: 0, pl: 0, oh, ow, mult: 1 };
}

export const separableConv2d: LayerKind = {
  classNames: ["SeparableConv2D"],
  plan(config, [inShape]) {
    noDilation(config);
    channelsLast(config);
    activationOf(config);
    const s = convSpatial(config, inShape), mult = positiveInt(config, "depthMultiplier", 1);
    const co = positiveInt(config, "filters");
    const weights = [
      { name: "depthwise_kernel", shape: [s.kh, s.kw, s.ci, mult], trainable: true },
      { name: "pointwise_kernel", shape: [1, 1, s.ci * mult, co], trainable: true },
    ];
    if (config.useBias !== false) weights.push({ name: "bias", shape: [co], trainable: true });
    return { outShape: [s.oh, s.ow, co], weights };
  },
  forward(node, [x], [dk, pk, bias], ctx) {
    const s = convSpatial(node.config, node.inShapes[0]),
      co = node.outShape[2],
      mid = dk.length / (s.kh * s.kw);
    const t = ctx.alloc.f32(ctx.n * s.oh * s.ow * mid);
    ctx.kernels.depthwise2d(x, dk, t, geom(s, ctx.n, mid, mid / s.ci));
    const out = ctx.alloc.f32(ctx.n * s.oh * s.ow * co);
    ctx.kernels.conv2d(t, pk, bias ?? null, out, pointwise(s.oh, s.ow, mid, co, ctx.n));
    activate(activationOf(node.config), out, co, ctx.kernels);
    return { out, cache: t };
  },
  backward(node, dOut, fwd, [x], [dk, pk], dW, needInput, ctx) {
    const s = convSpatial(node.config, node.inShapes[0]),
      co = node.outShape[2],
      mid = dk.length / (s.kh * s.kw);
    const t = fwd.cache as Float32Array, pg = pointwise(s.oh, s.ow, mid, co, ctx.n);
    const dz = activationGrad(activationOf(node.config), fwd.out, dOut, co, ctx);
    ctx.kernels.conv2dGradFilter(t, dz, dW[1], pg);
    if (dW[2]) biasGrad(dz, co, dW[2], ctx.kernels);
    const dt = ctx.alloc.f32(t.length);
    ctx.kernels.conv2dGradInput(dz, pk, dt, pg);
    const g = geom(s, ctx.n, mid, mid / s.ci);
    ctx.kernels.depthwise2dGradFilter(x, dt, dW[0], g);
    if (!needInput[0]) return [null];
    const dx = ctx.alloc.f32(x.length);
    ctx.kernels.depthwise2dGradInput(dt, dk, dx, g);
    return [dx];
  },
};

/**
 * Conv2DTranspose: the gradient of a conv with respect to its input, used forward. Its kernel
 * [kh, kw, filters, ci] is, read as HWIO, the kernel of that conv from the output y (filters
 * channels) back to the input x (ci channels), so forward = convGradInput and backward = conv + convGradFilter.
 */
import { activate, activationGrad, activationOf } from "./_activation.ts";
import { biasGrad, positiveInt } from "./_conv_common.ts";
import { axisOut, channelsLast, noDilation, paddingOf } from "./_conv_geom.ts";
import { type LayerConfig, type LayerKind, pair } from "./_types.ts";
import { addBias } from "./depthwise_conv2d.ts";

/** tfjs-layers' deconvLength: the output length of one axis. */
function outLength(x: number, k: number, s: number, padding: "same" | "valid"): number {
  return x * s + (padding === "valid" ? Math.max(k - s, 0) : 0);
}

/** Geometry of the underlying conv y → x, for n samples. */
function underlying(config: LayerConfig, inShape: number[], n: number) {
  const [kh, kw] = pair(config, "kernelSize");
  const [sh, sw] = pair(config, "strides", 1);
  const padding = paddingOf(config);
  const [h, w, ci] = inShape, co = positiveInt(config, "filters");
  const oh = outLength(h, kh, sh, padding), ow = outLength(w, kw, sw, padding);
  const py = axisOut(oh, kh, sh, padding), px = axisOut(ow, kw, sw, padding);
  if (py.out !== h || px.out !== w) throw new Error(`cannot invert a conv from ${oh}×${ow} to ${h}×${w}`);
  // The conv reads y (h: oh, ci: filters) and writes x (oh: h, co: ci).
  return {
    n,
    h: oh,
    w: ow,
    ci: co,
    co: ci,
    kh,
    kw,
    sh,
    sw,
    pt: py.before,
    pl: px.before,
    oh: h,
    ow: w,
    mult: 1,
  };
}

export const conv2dTranspose: LayerKind = {
  classNames: ["Conv2DTranspose"],
  plan(config, [inShape]) {
    noDilation(config);
    channelsLast(config);
    activationOf(config);
    if (config.outputPadding != null) throw new Error(`field "outputPadding" is not supported`);
    const g = underlying(config, inShape, 1);
    const weights = [{ name: "kernel", shape: [g.kh, g.kw, g.ci, g.co], trainable: true }];
    if (config.useBias !== false) weights.push({ name: "bias", shape: [g.ci], trainable: true });
    return { outShape: [g.h, g.w, g.ci], weights };
  },
  forward(node, [x], [kernel, bias], ctx) {
    const g = underlying(node.config, node.inShapes[0], ctx.n);
    const out = ctx.alloc.f32(ctx.n * g.h * g.w * g.ci);
    ctx.kernels.conv2dGradInput(x, kernel, out, g);
    if (bias) addBias(out, bias);
    activate(activationOf(node.config), out, g.ci, ctx.kernels);
    return { out };
  },
  backward(node, dOut, fwd, [x], [kernel], dW, needInput, ctx) {
    const g = underlying(node.config, node.inShapes[0], ctx.n);
    const dz = activationGrad(activationOf(node.config), fwd.out, dOut, g.ci, ctx);
    ctx.kernels.conv2dGradFilter(dz, x, dW[0], g);
    if (dW[1]) biasGrad(dz, g.ci, dW[1], ctx.kernels);
    if (!needInput[0]) return [null];
    const dx = ctx.alloc.f32(x.length);
    ctx.kernels.conv2d(dz, kernel, null, dx, g);
    return [dx];
  },
};

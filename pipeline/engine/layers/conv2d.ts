/** Conv2D: y = act(conv(x, kernel) + bias); kernel [kh, kw, ci, co]. */
import { activate, activationGrad, activationOf } from "./_activation.ts";
import { biasGrad, convSpatial, geom, positiveInt } from "./_conv_common.ts";
import { channelsLast, noDilation } from "./_conv_geom.ts";
import type { LayerKind } from "./_types.ts";

export const conv2d: LayerKind = {
  classNames: ["Conv2D"],
  plan(config, [inShape]) {
    noDilation(config);
    channelsLast(config);
    activationOf(config);
    const s = convSpatial(config, inShape), co = positiveInt(config, "filters");
    const weights = [{ name: "kernel", shape: [s.kh, s.kw, s.ci, co], trainable: true }];
    if (config.useBias !== false) weights.push({ name: "bias", shape: [co], trainable: true });
    return { outShape: [s.oh, s.ow, co], weights };
  },
  forward(node, [x], [kernel, bias], ctx) {
    const s = convSpatial(node.config, node.inShapes[0]), co = node.outShape[2];
    const out = ctx.alloc.f32(ctx.n * s.oh * s.ow * co);
    ctx.kernels.conv2d(x, kernel, bias ?? null, out, geom(s, ctx.n, co));
    activate(activationOf(node.config), out, co, ctx.kernels);
    return { out };
  },
  backward(node, dOut, fwd, [x], [kernel], dW, needInput, ctx) {
    const s = convSpatial(node.config, node.inShapes[0]), co = node.outShape[2], g = geom(s, ctx.n, co);
    const dz = activationGrad(activationOf(node.config), fwd.out, dOut, co, ctx);
    ctx.kernels.conv2dGradFilter(x, dz, dW[0], g);
    if (dW[1]) biasGrad(dz, co, dW[1], ctx.kernels);
    if (!needInput[0]) return [null];
    const dx = ctx.alloc.f32(x.length);
    ctx.kernels.conv2dGradInput(dz, kernel, dx, g);
    return [dx];
  },
};

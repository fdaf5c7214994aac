/**
 * MaxPooling2D / AveragePooling2D ('same' or 'valid'; windows clipped at the border, and an
 * average over the pixels inside, as tfjs), GlobalAveragePooling2D and GlobalMaxPooling2D.
 * Max pooling routes the gradient to the first maximum of a window in row-major order (tfjs cpu).
 */
import { axisOut, channelsLast, paddingOf } from "./_conv_geom.ts";
import type { Forward, LayerConfig, LayerKind, NodeInfo } from "./_types.ts";
import { pair } from "./_types.ts";

function windows(config: LayerConfig, [h, w, c]: number[]) {
  const [ph, pw] = pair(config, "poolSize", 2);
  const strides = config.strides == null ? [ph, pw] : pair(config, "strides");
  const padding = paddingOf(config);
  const y = axisOut(h, ph, strides[0], padding), x = axisOut(w, pw, strides[1], padding);
  return {
    h,
    w,
    c,
    ph,
    pw,
    sh: strides[0],
    sw: strides[1],
    oh: y.out,
    ow: x.out,
    pt: y.before,
    pl: x.before,
  };
}

/** Calls f(outIndexBase, inIndexBase list) per output pixel: every in-bounds input pixel of its window. */
function eachWindow(g: ReturnType<typeof windows>, n: number, f: (o: number, taps: number[]) => void): void {
  const taps: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        taps.length = 0;
        for (let ky = 0; ky < g.ph; ky++) {
          const iy = oy * g.sh + ky - g.pt;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.pw; kx++) {
            const ix = ox * g.sw + kx - g.pl;
            if (ix >= 0 && ix < g.w) taps.push(((b * g.h + iy) * g.w + ix) * g.c);
          }
        }
        f(((b * g.oh + oy) * g.ow + ox) * g.c, taps);
      }
    }
  }
}

function plan(config: LayerConfig, [inShape]: number[][]) {
  channelsLast(config);
  const g = windows(config, inShape);
  return { outShape: [g.oh, g.ow, g.c], weights: [] };
}

export const maxPooling2d: LayerKind = {
  classNames: ["MaxPooling2D"],
  plan,
  forward(node, [x], _w, ctx) {
    const g = windows(node.config, node.inShapes[0]);
    const out = ctx.alloc.f32(ctx.n * g.oh * g.ow * g.c), arg = ctx.alloc.i32(out.length);
    ctx.kernels.maxPool(x, { ...g, n: ctx.n }, out, arg);
    return { out, cache: arg };
  },
  backward(_node, dOut, fwd, [x], _w, _dW, needInput, ctx) {
    if (!needInput[0]) return [null];
    const dx = ctx.alloc.f32(x.length);
    ctx.kernels.maxPoolGrad(dOut, fwd.cache as Int32Array, dx);
    return [dx];
  },
};

export const averagePooling2d: LayerKind = {
  classNames: ["AveragePooling2D"],
  plan,
  forward(node, [x], _w, ctx) {
    const g = windows(node.config, node.inShapes[0]), c = g.c;
    const out = new Float32Array(ctx.n * g.oh * g.ow * c);
    eachWindow(g, ctx.n, (o, taps) => {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (const t of taps) s += x[t + j];
        out[o + j] = s / taps.length;
      }
    });
    return { out };
  },
  backward(node, dOut, _fwd, [x], _w, _dW, needInput, ctx) {
    if (!needInput[0]) return [null];
    const g = windows(node.config, node.inShapes[0]), c = g.c, dx = ctx.alloc.zeros(x.length);
    eachWindow(g, ctx.n, (o, taps) => {
      for (let j = 0; j < c; j++) {
        const d = dOut[o + j] / taps.length;
        for (const t of taps) dx[t + j] += d;
      }
    });
    return [dx];
  },
};

function globalPlan(config: LayerConfig, [inShape]: number[][]) {
  channelsLast(config);
  if (config.keepDims) throw new Error(`field "keepDims" is true, only false is supported`);
  return { outShape: [inShape[2]], weights: [] };
}

export const globalAveragePooling2d: LayerKind = {
  classNames: ["GlobalAveragePooling2D"],
  plan: globalPlan,
  forward(node, [x], _w, ctx) {
    const [h, w, c] = node.inShapes[0], hw = h * w, out = new Float32Array(ctx.n * c);
    for (let b = 0; b < ctx.n; b++) {
      const acc = new Float64Array(c);
      for (let p = 0; p < hw; p++) for (let j = 0; j < c; j++) acc[j] += x[(b * hw + p) * c + j];
      for (let j = 0; j < c; j++) out[b * c + j] = acc[j] / hw;
    }
    return { out };
  },
  backward(node, dOut, _fwd, [x], _w, _dW, needInput, ctx) {
    if (!needInput[0]) return [null];
    const [h, w, c] = node.inShapes[0], hw = h * w, dx = ctx.alloc.f32(x.length);
    for (let b = 0; b < ctx.n; b++) {
      for (let p = 0; p < hw; p++) {
        for (let j = 0; j < c; j++) dx[(b * hw + p) * c + j] = dOut[b * c + j] / hw;
      }
    }
    return [dx];
  },
};

export const globalMaxPooling2d: LayerKind = {
  classNames: ["GlobalMaxPooling2D"],
  plan: globalPlan,
  forward(node: NodeInfo, [x]: Float32Array[], _w: Float32Array[], ctx): Forward {
    const [h, w, c] = node.inShapes[0], hw = h * w;
    const out = new Float32Array(ctx.n * c).fill(-Infinity), arg = new Int32Array(ctx.n * c);
    for (let b = 0; b < ctx.n; b++) {
      for (let p = 0; p < hw; p++) {
        for (let j = 0; j < c; j++) {
          const i = (b * hw + p) * c + j;
          if (x[i] > out[b * c + j]) [out[b * c + j], arg[b * c + j]] = [x[i], i];
        }
      }
    }
    return { out, cache: arg };
  },
  backward: maxPooling2d.backward,
};

/**
 * UpSampling2D, 'nearest' or 'bilinear', as tfjs' resizeNearestNeighbor / resizeBilinear with
 * alignCorners and halfPixelCenters false (what tfjs-layers calls): source = out · in/out.
 */
import { channelsLast } from "./_conv_geom.ts";
import type { LayerKind } from "./_types.ts";
import { pair } from "./_types.ts";

/** Per output row (or column): source index below, above and the fraction between them. */
function taps(inLen: number, outLen: number, nearest: boolean) {
  const lo = new Int32Array(outLen), hi = new Int32Array(outLen), frac = new Float32Array(outLen);
  const ratio = inLen / outLen;
  for (let o = 0; o < outLen; o++) {
    const src = ratio * o;
    lo[o] = Math.min(inLen - 1, Math.floor(src));
    hi[o] = nearest ? lo[o] : Math.min(inLen - 1, Math.ceil(src));
    frac[o] = nearest ? 0 : src - lo[o];
  }
  return { lo, hi, frac };
}

function geometry(config: Record<string, unknown>, [h, w, c]: number[]) {
  const [sh, sw] = pair(config, "size", 2);
  const mode = config.interpolation ?? "nearest";
  if (mode !== "nearest" && mode !== "bilinear") {
    throw new Error(`field "interpolation" is ${JSON.stringify(mode)}, expected "nearest" or "bilinear"`);
  }
  const nearest = mode === "nearest";
  return { h, w, c, oh: h * sh, ow: w * sw, ys: taps(h, h * sh, nearest), xs: taps(w, w * sw, nearest) };
}

/** Calls f(outIndex, [i00, i01, i10, i11], [w00, w01, w10, w11]) per output pixel (channel 0). */
function eachPixel(
  g: ReturnType<typeof geometry>,
  n: number,
  f: (o: number, a: number, b: number, c: number, d: number, ry: number, rx: number) => void,
): void {
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < g.oh; y++) {
      const r0 = (b * g.h + g.ys.lo[y]) * g.w, r1 = (b * g.h + g.ys.hi[y]) * g.w, ry = g.ys.frac[y];
      for (let x = 0; x < g.ow; x++) {
        const c0 = g.xs.lo[x], c1 = g.xs.hi[x];
        f(
          ((b * g.oh + y) * g.ow + x) * g.c,
          (r0 + c0) * g.c,
          (r0 + c1) * g.c,
          (r1 + c0) * g.c,
          (r1 + c1) * g.c,
          ry,
          g.xs.frac[x],
        );
      }
    }
  }
}

export const upSampling2d: LayerKind = {
  classNames: ["UpSampling2D"],
  plan(config, [inShape]) {
    channelsLast(config);
    const g = geometry(config, inShape);
    return { outShape: [g.oh, g.ow, g.c], weights: [] };
  },
  forward(node, [x], _w, ctx) {
    const g = geometry(node.config, node.inShapes[0]),
      c = g.c,
      out = ctx.alloc.f32(ctx.n * g.oh * g.ow * c);
    eachPixel(g, ctx.n, (o, tl, tr, bl, br, ry, rx) => {
      for (let j = 0; j < c; j++) {
        const top = x[tl + j] + (x[tr + j] - x[tl + j]) * rx;
        const bottom = x[bl + j] + (x[br + j] - x[bl + j]) * rx;
        out[o + j] = top + (bottom - top) * ry;
      }
    });
    return { out };
  },
  backward(node, dOut, _fwd, [x], _w, _dW, needInput, ctx) {
    if (!needInput[0]) return [null];
    const g = geometry(node.config, node.inShapes[0]), c = g.c, dx = ctx.alloc.zeros(x.length);
    eachPixel(g, ctx.n, (o, tl, tr, bl, br, ry, rx) => {
      for (let j = 0; j < c; j++) {
        const d = dOut[o + j], top = d * (1 - ry), bottom = d * ry;
        dx[tl + j] += top * (1 - rx);
        dx[tr + j] += top * rx;
        dx[bl + j] += bottom * (1 - rx);
        dx[br + j] += bottom * rx;
      }
    });
    return [dx];
  },
};

/** Shared pieces of the convolution kinds: the kernel geometry of a node, and bias gradients. */
import type { ConvGeom, NativeKernels } from "../native/mod.ts";
import { axisOut, paddingOf } from "./_conv_geom.ts";
import { type LayerConfig, pair } from "./_types.ts";

/** Spatial plan of a conv over [h, w, ci]: kernel, strides, padding, output size. */
export function convSpatial(config: LayerConfig, inShape: number[]) {
  const [kh, kw] = pair(config, "kernelSize");
  const [sh, sw] = pair(config, "strides", 1);
  const padding = paddingOf(config);
  const [h, w, ci] = inShape;
  const y = axisOut(h, kh, sh, padding), x = axisOut(w, kw, sw, padding);
  return { kh, kw, sh, sw, h, w, ci, oh: y.out, ow: x.out, pt: y.before, pl: x.before };
}

/** Kernel geometry for `n` samples with `co` output channels (and channel multiplier `mult`). */
export function geom(
  s: ReturnType<typeof convSpatial>,
  n: number,
  co: number,
  mult = 1,
): ConvGeom & { mult: number } {
  return {
    n,
    h: s.h,
    w: s.w,
    ci: s.ci,
    co,
    kh: s.kh,
    kw: s.kw,
    sh: s.sh,
    sw: s.sw,
    pt: s.pt,
    pl: s.pl,
    oh: s.oh,
    ow: s.ow,
    mult,
  };
}

/** dBias[c] = Σ over pixels of dz[p, c], accumulated in float64 in a fixed order (native). */
export function biasGrad(dz: Float32Array, c: number, out: Float32Array, k: NativeKernels): void {
  k.biasGrad(dz, dz.length / c, c, out);
}

/** Positive integer field (filters, units, depthMultiplier). */
export function positiveInt(config: LayerConfig, name: string, fallback?: number): number {
  const v = config[name] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new Error(`field "${name}" is ${JSON.stringify(v)}, expected a positive integer`);
  }
  return v as number;
}

/**
 * Procedural 128×128 RGB faces with and without masks, a stand-in for Kaggle's
 * face-mask-detection when the real data cannot be downloaded.
 *
 * Every image is a pure function of (seed, class, size): an own PRNG, no `Math.random`.
 * Variety: skin tone, face size/position/tilt/turn, hair, glasses, beards, hands, scarves,
 * backgrounds (gradients, noise textures, clutter), lighting, blur and sensor noise.
 * Masks: surgical, cloth and N95-like, many colours, some worn below the nose.
 *
 * Like the tight crops of the real data set, the face fills most of the frame and the class
 * signal is reliable: a mask always covers mouth and chin in a colour that contrasts with the
 * skin; neck scarves sit below the chin; clutter, blur and noise are mild.
 *
 * The palettes and face parts are exported for the segmentation scenes (synthetic_scenes.ts), which
 * compose them differently; nothing here draws differently for it.
 */
import { join } from "node:path";
import { Canvas, type Rgb } from "./_raster.ts";
import { mixSeed, Rng } from "./_prng.ts";

/**
 * Salt of every face's seed stream (it was the generator version 3 when caches were keyed by a
 * hand-bumped version; kept so the images stay bit-identical). Not a cache key: the cache of
 * generated images is keyed by the hash of this module's import graph (sources/synthetic.ts).
 */
const SEED_SALT = 3;

/** Class folder names of the `dir` layout the writer produces. */
export const SYNTHETIC_CLASSES = ["with_mask", "without_mask"] as const;

/** Skin tones (the scene generator draws from the same palettes). */
export const SKIN: Rgb[] = [
  [0.98, 0.86, 0.76],
  [0.93, 0.76, 0.62],
  [0.82, 0.62, 0.46],
  [0.64, 0.45, 0.31],
  [0.45, 0.3, 0.2],
  [0.3, 0.2, 0.14],
];
/** Hair colours. */
export const HAIR: Rgb[] = [
  [0.08, 0.06, 0.05],
  [0.25, 0.16, 0.09],
  [0.45, 0.3, 0.16],
  [0.78, 0.62, 0.36],
  [0.55, 0.25, 0.12],
  [0.6, 0.6, 0.6],
  [0.9, 0.9, 0.88],
];
/** Surgical-mask colours: light blue and white first, as in the real crops. */
export const SURGICAL: Rgb[] = [
  [0.55, 0.75, 0.92],
  [0.93, 0.95, 0.97],
  [0.12, 0.12, 0.14],
  [0.95, 0.7, 0.8],
  [0.5, 0.82, 0.78],
  [0.72, 0.68, 0.9],
];
/** Cloth-mask colours. */
export const CLOTH: Rgb[] = [
  [0.15, 0.2, 0.45],
  [0.7, 0.12, 0.15],
  [0.2, 0.55, 0.75],
  [0.35, 0.25, 0.5],
  [0.95, 0.95, 0.95],
  [0.2, 0.45, 0.3],
];
/** Linear blend of two colours. */
export const mix = (a: Rgb, b: Rgb, t: number): Rgb => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];
/** A colour scaled by `f` (darker below 1). */
export const shade = (c: Rgb, f: number): Rgb => [c[0] * f, c[1] * f, c[2] * f];
/** A uniform random colour. */
export const randColor = (rng: Rng): Rgb => [rng.next(), rng.next(), rng.next()];

/** Maps face-local units (head half-width = 1, y down) to pixels, with tilt. */
export class Face {
  constructor(
    readonly cv: Canvas,
    readonly cx: number,
    readonly cy: number,
    readonly s: number,
    readonly rot: number,
  ) {}
  x(u: number, v: number): number {
    return this.cx + this.s * (u * Math.cos(this.rot) - v * Math.sin(this.rot));
  }
  y(u: number, v: number): number {
    return this.cy + this.s * (u * Math.sin(this.rot) + v * Math.cos(this.rot));
  }
  ellipse(u: number, v: number, ru: number, rv: number, rot: number, c: Rgb, a = 1): void {
    this.cv.ellipse(this.x(u, v), this.y(u, v), ru * this.s, rv * this.s, rot + this.rot, c, a);
  }
  polygon(pts: number[], c: Rgb, a = 1): void {
    const out: number[] = [];
    for (let i = 0; i < pts.length; i += 2) out.push(this.x(pts[i], pts[i + 1]), this.y(pts[i], pts[i + 1]));
    this.cv.polygon(out, c, a);
  }
  line(u0: number, v0: number, u1: number, v1: number, w: number, c: Rgb, a = 1): void {
    this.cv.line(this.x(u0, v0), this.y(u0, v0), this.x(u1, v1), this.y(u1, v1), w * this.s, c, a);
  }
}

/** Gradient, value noise, stripes and a few clutter shapes (one may take the skin colour). */
export function background(cv: Canvas, rng: Rng, skin: Rgb): void {
  const n = cv.size;
  cv.gradient(randColor(rng), randColor(rng), rng.range(0, 2 * Math.PI));
  if (rng.chance(0.6)) cv.valueNoise(rng, rng.int(2, 12), rng.range(0.1, 0.5), rng.chance(0.5));
  if (rng.chance(0.25)) { // stripes / tiles
    const w = rng.range(3, 12) * (n / 128), col = randColor(rng);
    for (let x = rng.range(0, w); x < n * 1.5; x += 2 * w) cv.line(x, -n, x - n * 0.3, 2 * n, w, col, 0.4);
  }
  const clutter = rng.int(0, 4);
  for (let i = 0; i < clutter; i++) {
    // A few clutter shapes take a skin colour, so skin colour alone is not a cue.
    const col = rng.chance(0.1) ? skin : randColor(rng);
    const x = rng.range(0, n), y = rng.range(0, n), r = rng.range(0.04, 0.15) * n;
    if (rng.chance(0.5)) {
      cv.ellipse(x, y, r, r * rng.range(0.3, 1), rng.range(0, 3), col, rng.range(0.4, 0.8));
    } else cv.polygon([x, y, x + r, y + r * rng.range(-0.5, 0.5), x + r, y + r, x, y + r * 1.2], col, 0.7);
  }
}

/** Hair (or a headscarf) behind the head, by style. */
export function hairBack(f: Face, rng: Rng, style: string, hair: Rgb): void {
  if (style === "long") f.ellipse(0, 0.35, 1.35, 1.75, 0, hair);
  if (style === "scarf") f.ellipse(0, 0.1, 1.38, 1.62, 0, hair);
  if (style === "short" || style === "curly") f.ellipse(0, -0.38, 1.1, 1.05, 0, hair);
  if (style === "curly") {
    for (let i = 0; i < 9; i++) f.ellipse(rng.range(-1.1, 1.1), rng.range(-1.3, -0.4), 0.3, 0.3, 0, hair);
  }
}

/** Fringe, cap or headscarf over the forehead, by style. */
export function hairFront(f: Face, rng: Rng, style: string, hair: Rgb): void {
  if (style === "short" || style === "long" || style === "curly") {
    f.ellipse(rng.range(-0.2, 0.2), -1.0, 0.95, rng.range(0.3, 0.5), rng.range(-0.2, 0.2), hair);
  }
  if (style === "scarf") f.polygon([-1.05, -0.7, 1.05, -0.7, 0.9, -1.2, -0.9, -1.2], shade(hair, 0.9));
  if (style === "cap") {
    f.ellipse(0, -0.95, 1.05, 0.55, 0, hair);
    f.ellipse(0.35, -0.62, 0.85, 0.16, 0, shade(hair, 0.8));
  }
}

/** Eyes, brows and sometimes glasses. */
export function eyes(f: Face, rng: Rng, turn: number, hair: Rgb): void {
  const iris: Rgb = rng.pick([[0.25, 0.15, 0.08], [0.1, 0.08, 0.06], [0.3, 0.45, 0.6], [0.3, 0.45, 0.3]]);
  const ey = rng.range(-0.22, -0.08), open = rng.range(0.06, 0.12);
  for (const side of [-1, 1]) {
    const ex = side * 0.4 + turn * 0.25;
    f.ellipse(ex, ey, 0.19, open, 0, [0.95, 0.95, 0.93]);
    f.ellipse(ex + turn * 0.05, ey, 0.08, Math.min(0.08, open), 0, iris);
    f.ellipse(ex + turn * 0.05, ey, 0.035, 0.035, 0, [0.02, 0.02, 0.02]);
    const by = ey - rng.range(0.2, 0.3);
    f.line(ex - 0.18, by + 0.03, ex + 0.18, by - side * 0.02, rng.range(0.05, 0.1), shade(hair, 0.8));
  }
  if (rng.chance(0.25)) { // glasses or sunglasses
    const frame: Rgb = rng.chance(0.5) ? [0.05, 0.05, 0.05] : randColor(rng), dark = rng.chance(0.3);
    for (const side of [-1, 1]) {
      const ex = side * 0.4 + turn * 0.25;
      if (dark) f.ellipse(ex, ey, 0.27, 0.2, 0, [0.05, 0.05, 0.08], 0.9);
      f.ellipse(ex, ey, 0.28, 0.21, 0, frame, 0.9);
      f.ellipse(ex, ey, 0.24, 0.17, 0, dark ? [0.08, 0.08, 0.12] : [0.9, 0.9, 0.9], dark ? 0.95 : 0.12);
    }
    f.line(-0.14 + turn * 0.25, ey, 0.14 + turn * 0.25, ey, 0.05, frame);
  }
}

/** Nose, mouth, chin and sometimes a beard. */
export function lowerFace(f: Face, rng: Rng, skin: Rgb, turn: number, beardColor: Rgb | null): void {
  const nx = turn * 0.3, dark = shade(skin, 0.78);
  f.line(nx - 0.02, -0.05, nx + 0.02, 0.3, 0.08, shade(skin, 0.9), 0.5); // bridge
  f.ellipse(nx, 0.33, 0.15, 0.11, 0, dark, 0.6);
  f.ellipse(nx, 0.3, 0.11, 0.09, 0, mix(skin, [1, 1, 1], 0.1), 0.7);
  for (const side of [-1, 1]) f.ellipse(nx + side * 0.09, 0.4, 0.055, 0.03, 0, shade(skin, 0.45));
  if (beardColor) beard(f, rng, beardColor); // under the lips: a beard leaves the mouth visible
  const lip: Rgb = mix(shade(skin, 0.8), [0.75, 0.25, 0.3], rng.range(0.2, 0.6));
  const my = rng.range(0.68, 0.76), mw = rng.range(0.22, 0.34), mx = turn * 0.25;
  if (rng.chance(0.3)) { // open mouth / smile with teeth
    f.ellipse(mx, my, mw, 0.11, 0, [0.25, 0.05, 0.07]);
    f.ellipse(mx, my - 0.04, mw * 0.8, 0.04, 0, [0.95, 0.93, 0.88]);
  } else {
    f.ellipse(mx, my, mw, rng.range(0.05, 0.09), 0, lip);
    f.line(mx - mw * 0.9, my, mx + mw * 0.9, my, 0.03, shade(lip, 0.5));
  }
  f.ellipse(mx, 1.12, 0.28, 0.1, 0, dark, 0.25); // chin shadow
}

function beard(f: Face, rng: Rng, hair: Rgb): void {
  const full = rng.chance(0.6);
  if (full) {
    f.polygon([-0.95, 0.25, 0.95, 0.25, 0.75, 1.05, 0.25, 1.38, -0.25, 1.38, -0.75, 1.05], hair, 0.6);
  } else f.ellipse(0, 1.15, 0.35, 0.25, 0, hair, 0.8); // goatee
  if (rng.chance(0.7)) f.ellipse(0, 0.56, 0.34, 0.08, 0, hair); // moustache
}

/** Colour distance (Euclidean in RGB). */
const dist = (a: Rgb, b: Rgb): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** `col`, pushed toward white or black until it differs clearly from `skin`. */
export function contrasting(col: Rgb, skin: Rgb): Rgb {
  if (dist(col, skin) >= 0.35) return col;
  const lum = (skin[0] + skin[1] + skin[2]) / 3;
  const target: Rgb = lum < 0.55 ? [0.96, 0.97, 0.98] : [0.1, 0.12, 0.16];
  let out = col;
  for (let t = 0.2; t <= 1 && dist(out, skin) < 0.35; t += 0.2) out = mix(col, target, t);
  return out;
}

/** A random colour not close to the common light-blue and white masks (caps, headscarves). */
function unmaskLike(rng: Rng): Rgb {
  let c = randColor(rng);
  for (let i = 0; i < 20 && (dist(c, SURGICAL[0]) < 0.4 || dist(c, SURGICAL[1]) < 0.4); i++) {
    c = randColor(rng);
  }
  return c;
}

function mask(f: Face, rng: Rng, turn: number, skin: Rgb): void {
  // Like the real data: mostly light-blue or white surgical masks, some N95s and cloth masks.
  const u = rng.next(), kind = u < 0.92 ? "surgical" : u < 0.97 ? "n95" : "cloth";
  const low = rng.chance(0.12); // worn below the nose: still "with_mask"
  const t = low ? rng.range(0.46, 0.54) : rng.range(0.02, 0.2), b = rng.range(1.3, 1.4), m = turn * 0.15;
  const v = rng.next();
  let col: Rgb = kind === "surgical"
    ? (v < 0.6 ? SURGICAL[0] : v < 0.95 ? SURGICAL[1] : v < 0.97 ? SURGICAL[2] : rng.pick(SURGICAL.slice(3)))
    : kind === "n95"
    ? (v < 0.7 ? SURGICAL[1] : SURGICAL[0])
    : rng.pick(CLOTH);
  col = contrasting(mix(col, [0.5, 0.5, 0.5], rng.range(0, 0.08)), skin); // dye / fabric variation
  const strap = shade(col, 0.85);
  for (const v of [t + 0.05, t + 0.6]) {
    f.line(-1.0 + m, v, -1.02, -0.05, 0.04, strap);
    f.line(1.0 + m, v, 1.02, -0.05, 0.04, strap);
  }
  if (kind === "surgical") {
    f.polygon(
      [-1.06 + m, t, 1.06 + m, t, 0.98 + m, t + 0.65, 0.5 + m, b, -0.5 + m, b, -0.98 + m, t + 0.65],
      col,
    );
    for (let i = 1; i <= 3; i++) {
      const v = t + (i * (b - t)) / 4.5;
      f.line(-0.88 + m, v, 0.88 + m, v + 0.02, 0.06, shade(col, 0.65), 0.9);
    }
    f.line(-0.45 + m, t + 0.03, 0.45 + m, t + 0.03, 0.04, [0.85, 0.85, 0.85], 0.7); // nose wire
  } else if (kind === "cloth") {
    f.ellipse(m, (t + b) / 2, 1.04, (b - t) / 2 + 0.05, 0, col);
    f.polygon([-0.95 + m, t + 0.15, 0.95 + m, t + 0.15, 0.7 + m, t, -0.7 + m, t], col);
    if (rng.chance(0.4)) { // printed pattern
      const p2 = randColor(rng);
      for (let i = 0; i < 10; i++) {
        f.ellipse(rng.range(-0.7, 0.7) + m, rng.range(t + 0.15, b - 0.15), 0.06, 0.06, 0, p2);
      }
    }
    f.line(m, t + 0.02, m, b, 0.04, shade(col, 0.7), 0.7); // centre seam
  } else {
    f.polygon([
      -1.0 + m,
      t + 0.12,
      m,
      t - 0.06,
      1.0 + m,
      t + 0.12,
      0.9 + m,
      t + 0.62,
      m,
      b + 0.05,
      -0.9 + m,
      t + 0.62,
    ], col);
    f.line(m, t - 0.04, m, b + 0.03, 0.05, shade(col, 0.75), 0.8);
    if (rng.chance(0.35)) f.ellipse(0.38 + m, (t + b) / 2 + 0.1, 0.17, 0.15, 0, shade(col, 0.6));
  }
  f.ellipse(m, b - 0.12, 0.55, 0.16, 0, shade(col, 0.75), 0.3); // under-chin shading
}

/** A hand raised towards the lower face. */
export function hand(f: Face, rng: Rng, skin: Rgb): void {
  const side = rng.chance(0.5) ? -1 : 1, u = side * rng.range(0.75, 1.1), v = rng.range(0.8, 1.5);
  const tone = mix(skin, [1, 0.9, 0.8], 0.1);
  f.ellipse(u, v, 0.35, 0.42, side * 0.4, tone);
  for (let i = 0; i < 4; i++) {
    const a = -Math.PI / 2 + side * (0.2 + i * 0.22);
    f.line(u, v - 0.2, u + Math.cos(a) * 0.55, v - 0.2 + Math.sin(a) * 0.55, 0.12, shade(tone, 0.97));
  }
}

/** A scarf around the neck, below the chin. */
export function neckScarf(f: Face, rng: Rng): void {
  const col = rng.chance(0.5) ? rng.pick(SURGICAL) : randColor(rng);
  f.polygon([-1.1, 1.5, 1.1, 1.5, 1.3, 2.05, -1.3, 2.05], col);
  f.line(-1.0, 1.75, 1.0, 1.78, 0.05, shade(col, 0.75), 0.7);
}

/** Lighting gradient, colour cast, contrast, blur and sensor noise. */
export function camera(cv: Canvas, rng: Rng): void {
  const n = cv.size, p = cv.px, a = rng.range(0, 2 * Math.PI), strength = rng.range(0, 0.35);
  const gain = rng.range(0.85, 1.1),
    cast: Rgb = [rng.range(0.96, 1.04), rng.range(0.96, 1.04), rng.range(0.96, 1.04)];
  const contrast = rng.range(0.85, 1.1);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const l = gain * (1 + strength * ((x / n - 0.5) * Math.cos(a) + (y / n - 0.5) * Math.sin(a)));
      const i = (y * n + x) * 3;
      for (let k = 0; k < 3; k++) p[i + k] = 0.5 + (p[i + k] * l * cast[k] - 0.5) * contrast;
    }
  }
  const blur = rng.chance(0.25) ? 1 : 0;
  if (blur) cv.blur(Math.ceil((blur * n) / 128));
  const sigma = rng.range(0, 0.025);
  for (let i = 0; i < p.length; i++) p[i] += sigma * rng.normal();
}

/**
 * Draw one face as size×size RGB bytes (row-major, 3 channels).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateFace } from "./synthetic.ts";
 * const img = generateFace(7, true, 64);
 * assert(img.length === 64 * 64 * 3);
 * ```
 */
export function generateFace(seed: number, withMask: boolean, size = 128): Uint8Array {
  return drawFace(seed, withMask, size, false).rgb;
}

/**
 * A face and its mask's pixels (1 where the face mask is visible, its straps included; 0 elsewhere,
 * and under anything drawn over it): the image is the same as `generateFace`'s, bit for bit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateFace, generateMaskedFace } from "./synthetic.ts";
 * const { rgb, mask } = generateMaskedFace(7, true, 64);
 * assert.deepEqual(rgb, generateFace(7, true, 64));
 * assert(mask.length === 64 * 64 && mask.some((v) => v === 1) && mask.every((v) => v === 0 || v === 1));
 * ```
 */
export function generateMaskedFace(
  seed: number,
  withMask: boolean,
  size = 128,
): { rgb: Uint8Array; mask: Uint8Array } {
  const { rgb, label } = drawFace(seed, withMask, size, true);
  return { rgb, mask: Uint8Array.from(label!, (v) => (v >= 0.5 ? 1 : 0)) };
}

function drawFace(seed: number, withMask: boolean, size: number, withLabel: boolean) {
  const rng = new Rng(mixSeed(seed, withMask ? 1 : 0, SEED_SALT));
  const cv = new Canvas(size, withLabel);
  const skin = mix(rng.pick(SKIN), rng.pick(SKIN), rng.next());
  background(cv, rng, skin);
  // Head height 2.6·s: the face fills about 70–90 % of the frame, near the centre.
  const s = size * rng.range(0.3, 0.37);
  const f = new Face(
    cv,
    size * rng.range(0.45, 0.55),
    size * rng.range(0.44, 0.52),
    s,
    rng.range(-0.25, 0.25),
  );
  // White and grey hair are rarer than the rest, as in the real crops.
  const turn = rng.range(-0.5, 0.5), hair = HAIR[rng.chance(0.05) ? rng.int(5, 6) : rng.int(0, 4)];
  const style = rng.pick(["short", "short", "long", "long", "curly", "bald", "cap", "scarf"]);
  const hairColor = style === "scarf" || style === "cap" ? unmaskLike(rng) : hair;
  f.polygon([-2.4, 3.5, -2.2, 2.0, -0.6, 1.55, 0.6, 1.55, 2.2, 2.0, 2.4, 3.5], unmaskLike(rng)); // shoulders
  f.polygon([-0.45, 0.9, 0.45, 0.9, 0.5, 1.9, -0.5, 1.9], shade(skin, 0.85)); // neck
  hairBack(f, rng, style, hairColor);
  for (const side of [-1, 1]) {
    if (side * turn < 0.3) f.ellipse(side * 1.0, 0.05, 0.16, 0.28, 0, shade(skin, 0.92));
  }
  f.ellipse(0, 0, 1, 1.3, 0, skin);
  f.ellipse(-turn * 0.6, 0.1, 0.6, 1.1, 0, shade(skin, 0.88), Math.abs(turn) * 0.5); // cheek shadow
  eyes(f, rng, turn, hair);
  lowerFace(f, rng, skin, turn, rng.chance(0.06) ? hair : null);
  if (withMask) {
    cv.labelTarget = 1; // the mask's own shapes are the segmentation target
    mask(f, rng, turn, skin);
    cv.labelTarget = 0;
  } else if (rng.chance(0.08)) neckScarf(f, rng);
  hairFront(f, rng, style, hairColor);
  if (rng.chance(0.05)) hand(f, rng, skin);
  camera(cv, rng);
  return { rgb: cv.toBytes(), label: cv.label };
}

/** Options of {@link writeSyntheticDir}. */
export interface SyntheticDirOptions {
  /** Base seed; image i of class c uses mixSeed(seed, c, i). @default 0 */
  seed?: number;
  /** Side in pixels. @default 128 */
  size?: number;
  /** Called after each image is written. */
  onImage?: () => void;
}

/**
 * Write `countPerClass` PNGs per class into `dir/with_mask/` and `dir/without_mask/`
 * (files `00000.png`, ...), the same layout as Kaggle's face-mask-detection. The faces are drawn
 * by Workers, one per core (drawing is the cost, and each face depends only on its own seed), and
 * encoded here on sharp's threads.
 */
export async function writeSyntheticDir(dir: string, countPerClass: number, opts: SyntheticDirOptions = {}) {
  const { seed = 0, size = 128 } = opts;
  // Loaded here, not at the top, so that the drawing Workers that import this file leave sharp alone.
  const { default: sharp } = await import("sharp");
  const faces: FaceJob[] = [];
  for (const [c, name] of SYNTHETIC_CLASSES.entries()) {
    await Deno.mkdir(join(dir, name), { recursive: true });
    for (let i = 0; i < countPerClass; i++) {
      faces.push({ seed: mixSeed(seed, c, i), withMask: c === 0, c, i });
    }
  }
  const pending: Promise<void>[] = [];
  const write = (face: FaceJob, rgb: Uint8Array) =>
    pending.push(
      sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 4 }).toBuffer()
        .then((png) =>
          Deno.writeFile(join(dir, SYNTHETIC_CLASSES[face.c], `${String(face.i).padStart(5, "0")}.png`), png)
        )
        .then(() => opts.onImage?.()),
    );
  const lanes = faces.length < 64 ? 1 : Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 4));
  if (lanes === 1) {
    for (const face of faces) {
      write(face, generateFace(face.seed, face.withMask, size));
      if (pending.length >= 8) await Promise.all(pending.splice(0));
    }
  } else {
    await Promise.all(
      Array.from({ length: lanes }, (_, lane) =>
        drawInWorker(
          faces.filter((_, k) => k % lanes === lane),
          size,
          write,
        )),
    );
  }
  await Promise.all(pending);
}

/** One face to draw: its seed and class, and where it goes (class index, image index). */
export interface FaceJob {
  seed: number;
  withMask: boolean;
  c: number;
  i: number;
}

/** Draw `faces` in a Worker (_synthetic_worker.ts); `onFace` gets each one's RGB bytes as it comes. */
function drawInWorker(faces: FaceJob[], size: number, onFace: (face: FaceJob, rgb: Uint8Array) => void) {
  const worker = new Worker(new URL("./_synthetic_worker.ts", import.meta.url), { type: "module" });
  return new Promise<void>((resolve, reject) => {
    let got = 0;
    worker.onmessage = (e: MessageEvent<{ k: number; rgb: Uint8Array } | { error: string }>) => {
      if ("error" in e.data) return reject(new Error(`synthetic faces: ${e.data.error}`));
      onFace(faces[e.data.k], e.data.rgb);
      if (++got === faces.length) resolve();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`synthetic faces: ${e.message}`));
    };
    worker.postMessage({ faces, size });
  }).finally(() => worker.terminate());
}

/**
 * Procedural scenes for segmentation: size×size RGB images of people, some wearing face masks, and
 * a per-pixel target that is 1 where a face mask (its straps included) is visible.
 *
 * Built from the face parts of synthetic.ts, composed so that no single cue gives the answer:
 * - scale: one large portrait, groups of two or three, or crowds of small faces (a mask a few
 *   pixels wide), drawn far to near so nearer people hide farther masks;
 * - thin structures: ear loops and head ties one to three pixels wide;
 * - the target varies: surgical, cloth, N95 and KF94 shapes, worn high, below the nose or on the
 *   chin, in any colour, plain or striped, checked, dotted or grainy;
 * - distractors that are not the target: scarves, headscarves, shirts and background objects in the
 *   scene's mask colours and patterns, thin lines of those colours, clutter, hands;
 * - partial targets: hands, objects and other people in front of a mask, faces cut by the frame;
 * - empty targets: scenes where nobody wears a mask, or nobody is there.
 *
 * Every scene is a pure function of (seed, index, size): its own PRNG, no `Math.random`.
 */
import { Canvas, type Rgb } from "./_raster.ts";
import { mixSeed, Rng } from "./_prng.ts";
import {
  background,
  camera,
  CLOTH,
  contrasting,
  eyes,
  Face,
  HAIR,
  hairBack,
  hairFront,
  hand,
  lowerFace,
  mix,
  neckScarf,
  randColor,
  shade,
  SKIN,
  SURGICAL,
} from "./synthetic.ts";

/** Salt of the scenes' seed stream, so scene i never shares a stream with face i. */
const SCENE_SALT = 0x5ce2e;

/** How a scene is framed. */
export type SceneLayout = "portrait" | "group" | "crowd" | "empty";

/** One generated scene. */
export interface Scene {
  /** size×size×3 RGB bytes, row-major. */
  rgb: Uint8Array;
  /** size×size class indices: 1 where a face mask is visible, 0 elsewhere. */
  mask: Uint8Array;
  layout: SceneLayout;
  /** People drawn, and how many of them wear a mask (some may be hidden or cut by the frame). */
  people: number;
  masked: number;
}

/** Layouts with their share of the scenes, the number of people and their head half-width (× size). */
const LAYOUTS: { layout: SceneLayout; p: number; people: [number, number]; scale: [number, number] }[] = [
  { layout: "portrait", p: 0.4, people: [1, 1], scale: [0.24, 0.36] },
  { layout: "group", p: 0.3, people: [2, 3], scale: [0.12, 0.22] },
  { layout: "crowd", p: 0.22, people: [3, 6], scale: [0.055, 0.11] },
  { layout: "empty", p: 0.08, people: [0, 2], scale: [0.1, 0.3] },
];

/** Chance that a person wears a mask (in "empty" scenes nobody does). */
const MASKED_P = 0.8;

type Pattern = (u: number, v: number) => number;

/** Colours the scene's masks are drawn from; distractors reuse them so colour alone does not decide. */
function maskColour(rng: Rng): Rgb {
  const u = rng.next();
  const base = u < 0.4 ? rng.pick(SURGICAL) : u < 0.7 ? rng.pick(CLOTH) : randColor(rng);
  return mix(base, [0.5, 0.5, 0.5], rng.range(0, 0.1));
}

/** A texture in face-local units (stripes, checks, dots, grain), as a blend weight in [0, 1]. */
function pattern(rng: Rng): Pattern | null {
  const kind = rng.pick(["plain", "plain", "plain", "stripes", "checks", "dots", "grain", "grain"]);
  const period = rng.range(0.12, 0.35), a = rng.range(0, Math.PI), c = Math.cos(a), s = Math.sin(a);
  const sq = (x: number) => x - Math.floor(x);
  if (kind === "stripes") return (u, v) => (sq((u * c + v * s) / period) < 0.45 ? 1 : 0);
  if (kind === "checks") return (u, v) => ((Math.floor(u / period) + Math.floor(v / period)) & 1);
  if (kind === "dots") {
    return (u, v) => Math.hypot(sq(u / period) - 0.5, sq(v / period) - 0.5) < 0.28 ? 1 : 0;
  }
  if (kind === "grain") {
    const k = rng.int(1, 1 << 30);
    return (u, v) => (mixSeed(k, Math.floor(u * 40) | 0, Math.floor(v * 40) | 0) & 255) / 255;
  }
  return null;
}

/**
 * Blend `second` into the pixels whose label rose above `before` (what was just drawn), by `pat`
 * evaluated in the face's own units, `strength` at most.
 */
function texture(f: Face, before: Float32Array, pat: Pattern, second: Rgb, strength: number): void {
  const cv = f.cv, n = cv.size, label = cv.label!, px = cv.px;
  const c = Math.cos(f.rot), s = Math.sin(f.rot);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const j = y * n + x, gain = label[j] - before[j];
      if (gain <= 0.05) continue;
      const dx = x + 0.5 - f.cx, dy = y + 0.5 - f.cy;
      const w = strength * gain * pat((dx * c + dy * s) / f.s, (-dx * s + dy * c) / f.s);
      for (let k = 0; k < 3; k++) px[j * 3 + k] += (second[k] - px[j * 3 + k]) * w;
    }
  }
}

/** A face mask with its straps, drawn with label target 1, then textured. */
function faceMask(f: Face, rng: Rng, turn: number, skin: Rgb, col: Rgb): void {
  const cv = f.cv, before = cv.label!.slice();
  const u = rng.next(), kind = u < 0.4 ? "surgical" : u < 0.7 ? "cloth" : u < 0.85 ? "n95" : "kf94";
  const w = rng.next(); // worn high (most), below the nose, or on the chin
  const t = w < 0.83 ? rng.range(0.02, 0.2) : w < 0.95 ? rng.range(0.46, 0.54) : rng.range(0.82, 0.92);
  const b = rng.range(1.3, 1.42), m = turn * 0.15;
  if (rng.chance(0.92)) col = contrasting(col, skin); // a few stay close to the skin: hard cases
  cv.labelTarget = 1;
  const strap = rng.chance(0.5) ? shade(col, 0.85) : randColor(rng), sw = rng.range(0.03, 0.075);
  if (rng.chance(0.7)) { // ear loops
    for (const v of [t + 0.05, Math.min(t + 0.6, b - 0.2)]) {
      f.line(-1.0 + m, v, -1.02, -0.05, sw, strap);
      f.line(1.0 + m, v, 1.02, -0.05, sw, strap);
    }
  } else { // ties around the head
    for (const v of [t + 0.08, Math.min(t + 0.55, b - 0.25)]) {
      f.line(-1.0 + m, v, -1.12, v - 0.3, sw, strap);
      f.line(1.0 + m, v, 1.12, v - 0.3, sw, strap);
    }
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
  } else if (kind === "cloth") {
    f.ellipse(m, (t + b) / 2, 1.04, (b - t) / 2 + 0.05, 0, col);
    f.line(m, t + 0.02, m, b, 0.04, shade(col, 0.7), 0.7); // centre seam
  } else if (kind === "n95") {
    f.ellipse(m, (t + b) / 2 + 0.05, 0.95, (b - t) / 2 + 0.08, 0, col);
    if (rng.chance(0.5)) f.ellipse(0.4 + m, (t + b) / 2 + 0.1, 0.17, 0.15, 0, shade(col, 0.6)); // valve
  } else { // KF94: a flat fish shape
    f.polygon(
      [-1.05 + m, t + 0.35, -0.4 + m, t, 0.4 + m, t, 1.05 + m, t + 0.35, 0.4 + m, b, -0.4 + m, b],
      col,
    );
    f.line(-0.9 + m, (t + b) / 2, 0.9 + m, (t + b) / 2, 0.035, shade(col, 0.8), 0.8);
  }
  cv.labelTarget = 0;
  const pat = pattern(rng);
  if (pat) texture(f, before, pat, rng.chance(0.5) ? shade(col, 0.55) : randColor(rng), rng.range(0.3, 0.8));
}

/** Options of one person: where, how large, and what they wear. */
interface Person {
  cx: number;
  cy: number;
  s: number;
  masked: boolean;
}

function drawPerson(cv: Canvas, rng: Rng, who: Person, colours: Rgb[]): void {
  const f = new Face(cv, who.cx, who.cy, who.s, rng.range(-0.3, 0.3));
  const skin = mix(rng.pick(SKIN), rng.pick(SKIN), rng.next());
  const turn = rng.range(-0.5, 0.5), hair = rng.pick(HAIR);
  const style = rng.pick(["short", "short", "long", "long", "curly", "bald", "cap", "scarf"]);
  // Headscarves, caps and shirts often take a mask colour: not the target.
  const clothing = () => (rng.chance(0.35) ? rng.pick(colours) : randColor(rng));
  const hairColor = style === "scarf" || style === "cap" ? clothing() : hair;
  const shirt = clothing();
  f.polygon([-2.4, 3.5, -2.2, 2.0, -0.6, 1.55, 0.6, 1.55, 2.2, 2.0, 2.4, 3.5], shirt);
  f.polygon([-0.45, 0.9, 0.45, 0.9, 0.5, 1.9, -0.5, 1.9], shade(skin, 0.85));
  hairBack(f, rng, style, hairColor);
  for (const side of [-1, 1]) {
    if (side * turn < 0.3) f.ellipse(side * 1.0, 0.05, 0.16, 0.28, 0, shade(skin, 0.92));
  }
  f.ellipse(0, 0, 1, 1.3, 0, skin);
  f.ellipse(-turn * 0.6, 0.1, 0.6, 1.1, 0, shade(skin, 0.88), Math.abs(turn) * 0.5);
  eyes(f, rng, turn, hair);
  lowerFace(f, rng, skin, turn, rng.chance(0.06) ? hair : null);
  if (who.masked) faceMask(f, rng, turn, skin, rng.pick(colours));
  if (rng.chance(who.masked ? 0.08 : 0.3)) neckScarf(f, rng);
  hairFront(f, rng, style, hairColor);
  if (rng.chance(0.12)) hand(f, rng, skin); // may cover part of the mask
}

/** Background objects in the scene's mask colours and patterns, and thin lines of them. */
function distractors(cv: Canvas, rng: Rng, colours: Rgb[]): void {
  const n = cv.size;
  for (let i = rng.int(1, 4); i > 0; i--) {
    const col = rng.chance(0.6) ? rng.pick(colours) : randColor(rng);
    const x = rng.range(0, n), y = rng.range(0, n), r = rng.range(0.04, 0.2) * n, a = rng.range(0, Math.PI);
    if (rng.chance(0.35)) {
      cv.line(x, y, x + r * 3 * Math.cos(a), y + r * 3 * Math.sin(a), rng.range(0.8, 2.5) * (n / 64), col);
    } else if (rng.chance(0.5)) cv.ellipse(x, y, r, r * rng.range(0.4, 1), a, col);
    else {cv.polygon([
        x,
        y,
        x + r,
        y + r * rng.range(-0.3, 0.3),
        x + r * 1.1,
        y + r,
        x - r * 0.1,
        y + r * 0.9,
      ], col);}
  }
}

/** Objects in front of everyone (a cup, a phone, a bag): the masks behind them become partial. */
function foreground(cv: Canvas, rng: Rng, colours: Rgb[]): void {
  const n = cv.size, col = rng.chance(0.4) ? rng.pick(colours) : randColor(rng);
  const x = rng.range(0.1, 0.9) * n, y = rng.range(0.35, 1) * n, r = rng.range(0.06, 0.18) * n;
  if (rng.chance(0.5)) cv.ellipse(x, y, r, r * rng.range(0.6, 1.4), rng.range(0, Math.PI), col);
  else cv.polygon([x - r, y - r * 1.4, x + r, y - r * 1.4, x + r, y + r * 1.4, x - r, y + r * 1.4], col);
}

function pickLayout(rng: Rng): (typeof LAYOUTS)[number] {
  let u = rng.next();
  for (const l of LAYOUTS) if ((u -= l.p) < 0) return l;
  return LAYOUTS[0];
}

/**
 * Draw scene `index` of the stream `seed` at size×size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateScene } from "./synthetic_scenes.ts";
 * const a = generateScene(42, 0, 64), b = generateScene(42, 0, 64);
 * assert.deepEqual(a, b);
 * assert(a.rgb.length === 64 * 64 * 3 && a.mask.every((v) => v === 0 || v === 1));
 * ```
 */
export function generateScene(seed: number, index: number, size: number): Scene {
  const rng = new Rng(mixSeed(seed, SCENE_SALT, index));
  const cv = new Canvas(size, true);
  const spec = pickLayout(rng);
  const colours = Array.from({ length: rng.int(1, 3) }, () => maskColour(rng));
  background(cv, rng, mix(rng.pick(SKIN), rng.pick(SKIN), rng.next()));
  distractors(cv, rng, colours);
  const people: Person[] = [];
  for (let i = rng.int(...spec.people); i > 0; i--) {
    const s = size * rng.range(...spec.scale);
    // A portrait sits near the middle, now and then cut by the frame; others anywhere, heads above the floor.
    const [cx, cy] = spec.layout === "portrait"
      ? (rng.chance(0.12) ? [size * rng.range(0.1, 0.9), size * rng.range(0.55, 0.75)] : [
        size * rng.range(0.4, 0.6),
        size * rng.range(0.4, 0.55),
      ])
      : [size * rng.range(0.05, 0.95), size * rng.range(0.15, 0.8)];
    people.push({ cx, cy, s, masked: spec.layout !== "empty" && rng.chance(MASKED_P) });
  }
  people.sort((a, b) => a.s - b.s || a.cy - b.cy); // far (small) first: nearer people hide them
  for (const who of people) drawPerson(cv, rng, who, colours);
  if (rng.chance(0.2)) foreground(cv, rng, colours);
  camera(cv, rng);
  return {
    rgb: cv.toBytes(),
    mask: Uint8Array.from(cv.label!, (v) => (v >= 0.5 ? 1 : 0)),
    layout: spec.layout,
    people: people.length,
    masked: people.filter((p) => p.masked).length,
  };
}

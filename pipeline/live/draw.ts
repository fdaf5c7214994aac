/**
 * Annotations drawn straight into packed RGB24 frames (no canvas): box outlines and labels in a
 * monospace font rasterised once. What `--out` videos and the live page's frames show.
 */
import sharp from "sharp";

/** An RGB colour, 0–255 per channel. */
export type Color = readonly [number, number, number];

/** Colours by label: green for a mask, red for none, amber for anything else. */
export function labelColor(label: string): Color {
  if (/without|no_?mask/i.test(label)) return [230, 40, 40];
  if (/mask/i.test(label)) return [40, 200, 70];
  return [240, 170, 20];
}

/** Fill the rectangle [x, y, w, h] (clipped to the frame) with `color`. */
export function fillRect(
  rgb: Uint8Array,
  width: number,
  height: number,
  [x, y, w, h]: readonly number[],
  color: Color,
): void {
  const x0 = Math.max(0, Math.round(x)), x1 = Math.min(width, Math.round(x + w));
  const y0 = Math.max(0, Math.round(y)), y1 = Math.min(height, Math.round(y + h));
  for (let r = y0; r < y1; r++) {
    for (let c = x0; c < x1; c++) rgb.set(color, (r * width + c) * 3);
  }
}

/** The outline of box [x, y, w, h], `thickness` pixels wide, inside the box. */
export function strokeRect(
  rgb: Uint8Array,
  width: number,
  height: number,
  [x, y, w, h]: readonly number[],
  color: Color,
  thickness = 2,
): void {
  fillRect(rgb, width, height, [x, y, w, thickness], color);
  fillRect(rgb, width, height, [x, y + h - thickness, w, thickness], color);
  fillRect(rgb, width, height, [x, y, thickness, h], color);
  fillRect(rgb, width, height, [x + w - thickness, y, thickness, h], color);
}

/** Alpha masks of the printable ASCII characters in a monospace font, one cell each. */
export interface Font {
  cellWidth: number;
  cellHeight: number;
  glyphs: Map<string, Uint8Array>;
}

let fonts = new Map<number, Promise<Font>>();

/**
 * The monospace font at `px` pixels, rasterised once through sharp (librsvg): each character's
 * alpha in a cellWidth × cellHeight cell.
 */
export function loadFont(px = 14): Promise<Font> {
  if (!fonts.has(px)) fonts = new Map([...fonts, [px, rasterise(px)]]);
  return fonts.get(px)!;
}

async function rasterise(px: number): Promise<Font> {
  const cellWidth = Math.ceil(px * 0.62), cellHeight = Math.ceil(px * 1.25);
  const glyphs = new Map<string, Uint8Array>();
  for (let code = 32; code < 127; code++) {
    const ch = String.fromCharCode(code);
    const escaped = ch.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${cellWidth}" height="${cellHeight}">` +
      `<text x="0" y="${
        Math.round(px * 0.95)
      }" font-family="DejaVu Sans Mono, monospace" font-size="${px}" ` +
      `fill="#fff">${escaped}</text></svg>`;
    const { data } = await sharp(new TextEncoder().encode(svg)).ensureAlpha().raw().toBuffer({
      resolveWithObject: true,
    });
    const alpha = new Uint8Array(cellWidth * cellHeight);
    for (let i = 0; i < alpha.length; i++) alpha[i] = data[i * 4 + 3];
    glyphs.set(ch, alpha);
  }
  return { cellWidth, cellHeight, glyphs };
}

/** Width in pixels of `text` in `font`, padding included. */
export function textWidth(font: Font, text: string): number {
  return text.length * font.cellWidth + 4;
}

/**
 * Draw `text` with its top-left at (x, y) on a filled background (2 px padding), blending each
 * glyph's alpha.
 *
 * @example
 * ```ts
 * import { drawLabel, loadFont } from "./draw.ts";
 * const rgb = new Uint8Array(80 * 30 * 3), font = await loadFont(14);
 * drawLabel(rgb, 80, 30, 0, 0, "OK 97%", [255, 255, 255], [0, 0, 0], font);
 * if (!rgb.some((v) => v > 200)) throw new Error("nothing drawn");
 * ```
 */
export function drawLabel(
  rgb: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  text: string,
  color: Color,
  background: Color,
  font: Font,
): void {
  fillRect(rgb, width, height, [x, y, textWidth(font, text), font.cellHeight + 4], background);
  [...text].forEach((ch, i) => {
    const glyph = font.glyphs.get(ch) ?? font.glyphs.get("?")!;
    const left = Math.round(x) + 2 + i * font.cellWidth, top = Math.round(y) + 2;
    for (let r = 0; r < font.cellHeight; r++) {
      const py = top + r;
      if (py < 0 || py >= height) continue;
      for (let c = 0; c < font.cellWidth; c++) {
        const a = glyph[r * font.cellWidth + c] / 255, px = left + c;
        if (a === 0 || px < 0 || px >= width) continue;
        const at = (py * width + px) * 3;
        for (let k = 0; k < 3; k++) rgb[at + k] = Math.round(rgb[at + k] * (1 - a) + color[k] * a);
      }
    }
  });
}

/**
 * A face's box and its "LABEL 97%" tag above it (inside the frame when the box touches the top).
 */
export function drawFace(
  rgb: Uint8Array,
  width: number,
  height: number,
  box: readonly number[],
  label: string,
  prob: number,
  font: Font,
): void {
  const color = labelColor(label);
  strokeRect(rgb, width, height, box, color, Math.max(2, Math.round(box[2] / 60)));
  const text = `${label} ${(prob * 100).toFixed(0)}%`, tagHeight = font.cellHeight + 4;
  const y = box[1] >= tagHeight ? box[1] - tagHeight : box[1] + box[3];
  drawLabel(rgb, width, height, box[0], Math.min(height - tagHeight, y), text, [255, 255, 255], color, font);
}

/** The run's frames per second, top left, white on black. */
export function drawFps(rgb: Uint8Array, width: number, height: number, fps: number, font: Font): void {
  drawLabel(rgb, width, height, 4, 4, `${fps.toFixed(1)} FPS`, [255, 255, 255], [0, 0, 0], font);
}

/** `count` frame indices spread evenly over `frames` (each centred in its share): the frames a strip keeps. */
export function evenlySpaced(count: number, frames: number): Set<number> {
  return new Set(Array.from({ length: count }, (_, i) => Math.floor((i + 0.5) * frames / count)));
}

/** A packed RGB24 frame as a PNG at half its width (report strips, notebook frames). */
export async function halfSizePng(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).resize(Math.round(width / 2)).png()
    .toBuffer();
  return new Uint8Array(png);
}

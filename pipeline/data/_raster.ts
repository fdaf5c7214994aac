/**
 * A tiny anti-aliased rasteriser over a float RGB buffer.
 *
 * Every shape is a signed distance (pixels, negative inside); coverage is
 * `clamp(0.5 - d)`, which gives one pixel of anti-aliasing at any rotation.
 */
import type { Rng } from "./_prng.ts";

/** An RGB colour with channels in [0, 1]. */
export type Rgb = [number, number, number];

export class Canvas {
  readonly size: number;
  /** RGB, row-major, channels in [0, 1]. */
  readonly px: Float32Array;
  /**
   * Optional per-pixel label coverage in [0, 1] (segmentation targets): every shape drawn pulls it
   * towards `labelTarget` by the shape's coverage, so a later occluder (target 0) hides the label.
   */
  label?: Float32Array;
  labelTarget = 0;

  constructor(size: number, withLabel = false) {
    this.size = size;
    this.px = new Float32Array(size * size * 3);
    if (withLabel) this.label = new Float32Array(size * size);
  }

  /** Blend `color` with coverage from the signed distance `sdf` over a pixel box. */
  shape(sdf: (x: number, y: number) => number, box: number[], color: Rgb, alpha = 1): void {
    const n = this.size;
    const x0 = Math.max(0, Math.floor(box[0]) - 1), x1 = Math.min(n - 1, Math.ceil(box[2]) + 1);
    const y0 = Math.max(0, Math.floor(box[1]) - 1), y1 = Math.min(n - 1, Math.ceil(box[3]) + 1);
    const p = this.px;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const d = sdf(x + 0.5, y + 0.5);
        if (d >= 0.5) continue;
        const a = (d <= -0.5 ? 1 : 0.5 - d) * alpha;
        const i = (y * n + x) * 3;
        p[i] += (color[0] - p[i]) * a;
        p[i + 1] += (color[1] - p[i + 1]) * a;
        p[i + 2] += (color[2] - p[i + 2]) * a;
        if (this.label) this.label[y * n + x] += (this.labelTarget - this.label[y * n + x]) * a;
      }
    }
  }

  /** Filled ellipse centred at (cx, cy), radii rx/ry, rotated by `rot` radians. */
  ellipse(cx: number, cy: number, rx: number, ry: number, rot: number, color: Rgb, alpha = 1): void {
    const c = Math.cos(rot), s = Math.sin(rot), r = Math.max(rx, ry) + 1;
    rx = Math.max(rx, 0.3);
    ry = Math.max(ry, 0.3);
    this.shape(
      (x, y) => {
        const dx = x - cx, dy = y - cy;
        const u = (dx * c + dy * s) / rx, v = (-dx * s + dy * c) / ry;
        const k = Math.sqrt(u * u + v * v);
        if (k < 1e-6) return -Math.min(rx, ry);
        // First-order distance: (k - 1) / |grad k|.
        const g = Math.sqrt((u / rx) ** 2 + (v / ry) ** 2) / k;
        return (k - 1) / g;
      },
      [cx - r, cy - r, cx + r, cy + r],
      color,
      alpha,
    );
  }

  /** Filled convex polygon; points as [x0, y0, x1, y1, ...] in either winding. */
  polygon(pts: number[], color: Rgb, alpha = 1): void {
    const m = pts.length / 2;
    let area = 0;
    for (let i = 0; i < m; i++) {
      const j = (i + 1) % m;
      area += pts[2 * i] * pts[2 * j + 1] - pts[2 * j] * pts[2 * i + 1];
    }
    const sign = area > 0 ? 1 : -1;
    const edges: number[] = [];
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < m; i++) {
      const j = (i + 1) % m;
      const ax = pts[2 * i], ay = pts[2 * i + 1], bx = pts[2 * j], by = pts[2 * j + 1];
      const len = Math.hypot(bx - ax, by - ay) || 1;
      // Outward normal and offset so that d = nx*x + ny*y - off.
      const nx = (sign * (by - ay)) / len, ny = (sign * -(bx - ax)) / len;
      edges.push(nx, ny, nx * ax + ny * ay);
      box[0] = Math.min(box[0], ax), box[1] = Math.min(box[1], ay);
      box[2] = Math.max(box[2], ax), box[3] = Math.max(box[3], ay);
    }
    this.shape(
      (x, y) => {
        let d = -Infinity;
        for (let e = 0; e < edges.length; e += 3) {
          d = Math.max(
            d,
            edges[e] * x + edges[e + 1] * y - edges[e + 2],
          );
        }
        return d;
      },
      box,
      color,
      alpha,
    );
  }

  /** A thick line with round caps. */
  line(ax: number, ay: number, bx: number, by: number, width: number, color: Rgb, alpha = 1): void {
    const r = Math.max(width / 2, 0.35), dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy || 1e-9;
    this.shape(
      (x, y) => {
        const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / l2));
        return Math.hypot(x - ax - t * dx, y - ay - t * dy) - r;
      },
      [Math.min(ax, bx) - r, Math.min(ay, by) - r, Math.max(ax, bx) + r, Math.max(ay, by) + r],
      color,
      alpha,
    );
  }

  /** Fill with a linear gradient from `a` to `b` along direction `angle`. */
  gradient(a: Rgb, b: Rgb, angle: number): void {
    const n = this.size, c = Math.cos(angle), s = Math.sin(angle);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const t = Math.min(1, Math.max(0, 0.5 + ((x / n - 0.5) * c + (y / n - 0.5) * s)));
        const i = (y * n + x) * 3;
        for (let k = 0; k < 3; k++) this.px[i + k] = a[k] + (b[k] - a[k]) * t;
      }
    }
  }

  /** Add smooth value noise (bilinear over a `cells`×`cells` grid), per channel or grey. */
  valueNoise(rng: Rng, cells: number, amp: number, colored: boolean): void {
    const g = cells + 1, grid = new Float32Array(g * g * 3);
    for (let i = 0; i < grid.length; i += 3) {
      const v = rng.next() - 0.5;
      grid[i] = v;
      grid[i + 1] = colored ? rng.next() - 0.5 : v;
      grid[i + 2] = colored ? rng.next() - 0.5 : v;
    }
    const n = this.size;
    for (let y = 0; y < n; y++) {
      const fy = (y / n) * cells, gy = Math.floor(fy), ty = fy - gy;
      for (let x = 0; x < n; x++) {
        const fx = (x / n) * cells, gx = Math.floor(fx), tx = fx - gx;
        const i = (y * n + x) * 3, a = (gy * g + gx) * 3, b = a + g * 3;
        for (let k = 0; k < 3; k++) {
          const top = grid[a + k] + (grid[a + 3 + k] - grid[a + k]) * tx;
          const bot = grid[b + k] + (grid[b + 3 + k] - grid[b + k]) * tx;
          this.px[i + k] += amp * (top + (bot - top) * ty);
        }
      }
    }
  }

  /** Separable 3-tap box blur, `passes` times. */
  blur(passes: number): void {
    const n = this.size, p = this.px, tmp = new Float32Array(p.length);
    for (let pass = 0; pass < passes; pass++) {
      for (const [src, dst, horiz] of [[p, tmp, true], [tmp, p, false]] as const) {
        for (let y = 0; y < n; y++) {
          for (let x = 0; x < n; x++) {
            const i = (y * n + x) * 3;
            const prev = horiz ? (x > 0 ? i - 3 : i) : (y > 0 ? i - 3 * n : i);
            const next = horiz ? (x < n - 1 ? i + 3 : i) : (y < n - 1 ? i + 3 * n : i);
            for (let k = 0; k < 3; k++) dst[i + k] = (src[prev + k] + src[i + k] + src[next + k]) / 3;
          }
        }
      }
    }
  }

  /** Clamp to [0, 1] and quantise to 8-bit RGB. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.px.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, this.px[i])) * 255);
    return out;
  }
}

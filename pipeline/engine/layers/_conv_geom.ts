/** Output size and leading padding of one spatial axis, as tfjs computes them for 'same' / 'valid'. */
import type { LayerConfig } from "./_types.ts";

/** The `padding` field: "same" or "valid" (others refused). */
export function paddingOf(config: LayerConfig): "same" | "valid" {
  const p = config.padding ?? "valid";
  if (p !== "same" && p !== "valid") {
    throw new Error(`field "padding" is ${JSON.stringify(p)}, expected "same" or "valid"`);
  }
  return p;
}

/** Refuse dilations other than 1 (the kernels do not take them). */
export function noDilation(config: LayerConfig): void {
  const d = config.dilationRate ?? 1;
  const ok = d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
  if (!ok) throw new Error(`field "dilationRate" is ${JSON.stringify(d)}, only 1 is supported`);
}

/** Refuse channels-first layouts. */
export function channelsLast(config: LayerConfig): void {
  const f = config.dataFormat ?? "channelsLast";
  if (f !== "channelsLast") {
    throw new Error(`field "dataFormat" is ${JSON.stringify(f)}, only channelsLast is supported`);
  }
}

/** Output length and padding before, for input length `x`, kernel `k`, stride `s`. */
export function axisOut(
  x: number,
  k: number,
  s: number,
  padding: "same" | "valid",
): { out: number; before: number } {
  if (padding === "valid") {
    const out = Math.ceil((x - k + 1) / s);
    if (out < 1) throw new Error(`input size ${x} is smaller than the kernel ${k} ('valid' padding)`);
    return { out, before: 0 };
  }
  const out = Math.ceil(x / s);
  return { out, before: Math.floor(Math.max(0, (out - 1) * s + k - x) / 2) };
}

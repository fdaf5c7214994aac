/**
 * Number formatting for the report. A value that is absent or not a finite number is shown
 * as an em dash, never as zero.
 */
import { type Lang, t } from "./i18n.ts";

/** Shown where results.json has no value. */
export const MISSING = "—";

function isNum(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/**
 * A fraction in [0, 1] as a percent with `digits` decimals (no % sign).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { percent } from "./format.ts";
 * assert(percent(0.975) === "97.50");
 * assert(percent(undefined) === "—");
 * ```
 */
export function percent(value: unknown, digits = 2): string {
  return isNum(value) ? (value * 100).toFixed(digits) : MISSING;
}

/**
 * A number with fixed decimals.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fixed } from "./format.ts";
 * assert(fixed(0.96153, 4) === "0.9615");
 * ```
 */
export function fixed(value: unknown, digits: number): string {
  return isNum(value) ? value.toFixed(digits) : MISSING;
}

/**
 * An integer with thousands separators (a comma in both languages).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer } from "./format.ts";
 * assert(integer(93954) === "93,954");
 * ```
 */
export function integer(value: unknown): string {
  return isNum(value) ? Math.round(value).toLocaleString("en-US") : MISSING;
}

/**
 * A duration in seconds, in words of `lang`: "12.3 s" / "12.3초", "2 min 5 s" / "2분 5초".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duration } from "./format.ts";
 * assert(duration(125, "ko") === "2분 5초");
 * assert(duration(12.34, "en") === "12.3 s");
 * ```
 */
export function duration(seconds: unknown, lang: Lang): string {
  if (!isNum(seconds)) return MISSING;
  if (seconds < 60) return t(lang, "unit.seconds", { n: seconds.toFixed(1) });
  const whole = Math.round(seconds);
  return t(lang, "unit.minutes", { m: Math.floor(whole / 60), s: whole % 60 });
}

/**
 * Any JSON value as short text for a key/value table: numbers keep up to 4 decimals,
 * integers get separators, objects become compact JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scalar } from "./format.ts";
 * assert(scalar(1620) === "1,620");
 * assert(scalar(0.123456) === "0.1235");
 * assert(scalar(true) === "true");
 * ```
 */
export function scalar(value: unknown): string {
  if (value === null || value === undefined) return MISSING;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return MISSING;
    return Number.isInteger(value) ? integer(value) : String(Number(value.toFixed(4)));
  }
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The first 12 hex digits of a SHA-256, the way git shows a short hash. */
export function shortSha(sha: unknown): string {
  return typeof sha === "string" && sha.length > 0 ? sha.slice(0, 12) : MISSING;
}

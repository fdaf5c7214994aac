/**
 * Turn zod issues into messages that name the field path, what was expected and what was found:
 * `stages.train.params.epochs: expected a number, got "ten"`.
 */
import type { z } from "zod";

type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Record<string, string> = {
  number: "a number",
  int: "an integer",
  string: "a string",
  boolean: "a boolean (true or false)",
  array: "a list",
  object: "a mapping",
  record: "a mapping",
  map: "a mapping",
  null: "null",
};

/** `a.b[2].c` from a zod path; `prefix` is prepended ("stages.train.params"). */
export function formatPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  }
  return out || "(top level)";
}

/** A value as quoted in messages: strings in quotes, lists and mappings by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `a list (${truncate(JSON.stringify(value))})`;
  if (typeof value === "object") return `a mapping (${truncate(JSON.stringify(value))})`;
  return String(value);
}

function truncate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur = data;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[String(key)];
  }
  return cur;
}

/**
 * One line for a zod issue found while parsing `data`.
 * `expectedKeys` lists the allowed fields where an unknown field was found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { describeIssue } from "./_issues.ts";
 * const data = { epochs: "ten" };
 * const issue = z.object({ epochs: z.number() }).safeParse(data).error!.issues[0];
 * assert(describeIssue(issue, data, undefined, "params") === 'params.epochs: expected a number, got "ten"');
 * ```
 */
export function describeIssue(
  issue: Issue,
  data: unknown,
  expectedKeys?: readonly string[],
  prefix = "",
): string {
  const got = describeValue(valueAt(data, issue.path));
  const at = formatPath(issue.path, prefix);
  switch (issue.code) {
    case "invalid_type":
      return `${at}: expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${got}`;
    case "unrecognized_keys":
      return issue.keys.map((k) => {
        const expected = expectedKeys ? ` (expected one of: ${expectedKeys.join(", ")})` : "";
        return `${formatPath([...issue.path, k], prefix)}: unknown field "${k}"${expected}`;
      }).join("\n");
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      return `${at}: expected ${values.length === 1 ? values[0] : `one of ${values.join(", ")}`}, got ${got}`;
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive !== false;
      const word = issue.code === "too_small"
        ? (inclusive ? "at least" : "more than")
        : (inclusive ? "at most" : "less than");
      const what = issue.origin === "array"
        ? `${word} ${bound} item(s)`
        : issue.origin === "string"
        ? `${word} ${bound} character(s)`
        : `a number ${word} ${bound}`;
      return `${at}: expected ${what}, got ${got}`;
    }
    default:
      return `${at}: ${issue.message}, got ${got}`;
  }
}

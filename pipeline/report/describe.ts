/**
 * Showing an object of unknown shape (a stage summary, the fetch stage's dataset record) as
 * report blocks: scalars in a key/value table, class counts per split as a matrix, arrays of
 * objects as tables, long lists cut after MAX_LIST_ROWS.
 */
import type { Block } from "./document.ts";
import { integer, scalar } from "./format.ts";
import { keyLabel, type Lang, t } from "./i18n.ts";
import { isRecord } from "./variants.ts";

/** Rows of an array shown in a table before the rest is summarised as "… and N more". */
const MAX_LIST_ROWS = 10;

/** A two-column key / value table. */
export function kvTable(lang: Lang, rows: [string, string][]): Block {
  return { kind: "table", header: [t(lang, "kv.key"), t(lang, "kv.value")], align: ["left", "left"], rows };
}

/** `{ a: { x: 1, y: 2 }, b: { x: 3 } }`: an object of objects whose leaves are all numbers. */
function isNumberMatrix(value: unknown): value is Record<string, Record<string, number>> {
  if (!isRecord(value)) return false;
  const inner = Object.values(value);
  return inner.length > 0 && inner.every((row) =>
    isRecord(row) && Object.keys(row).length > 0 &&
    Object.values(row).every((v) => typeof v === "number")
  );
}

function matrixTable(key: string, matrix: Record<string, Record<string, number>>, lang: Lang): Block {
  const columns = [...new Set(Object.values(matrix).flatMap((row) => Object.keys(row)))];
  const splitLike = Object.keys(matrix).some((k) => /^(train|val|valid|validation|test)$/i.test(k));
  return {
    kind: "table",
    header: [
      splitLike ? t(lang, "dataset.split") : keyLabel(lang, key),
      ...columns,
      t(lang, "dataset.total"),
    ],
    align: ["left", ...columns.map(() => "right" as const), "right"],
    rows: Object.entries(matrix).map(([name, row]) => [
      name,
      ...columns.map((c) => scalar(row[c])),
      scalar(Object.values(row).reduce((a, b) => a + b, 0)),
    ]),
  };
}

/** `{ train: 1948, val: 417, test: 419 }`: a few numbers, shown on one line. */
function isShortNumberRecord(value: Record<string, unknown>): boolean {
  const values = Object.values(value);
  return values.length > 0 && values.length <= 6 && values.every((v) => typeof v === "number");
}

/** A table of objects, with the union of their keys as columns, up to MAX_LIST_ROWS rows. */
function objectsTable(items: Record<string, unknown>[], lang: Lang): Block {
  const columns = [...new Set(items.flatMap((o) => Object.keys(o)))];
  const shown = items.slice(0, MAX_LIST_ROWS);
  const rows = shown.map((o) => columns.map((c) => scalar(o[c])));
  if (items.length > shown.length) {
    rows.push([
      t(lang, "dataset.more", { n: items.length - shown.length }),
      ...columns.slice(1).map(() => ""),
    ]);
  }
  return {
    kind: "table",
    header: columns.map((c) => keyLabel(lang, c)),
    align: columns.map((c) =>
      shown.every((o) => o[c] === undefined || typeof o[c] === "number") ? "right" : "left"
    ),
    rows,
  };
}

/**
 * Show an object of unknown shape: scalars (flattened as `a.b`) in a key/value table,
 * objects of number objects (class counts per split) as matrices, arrays as lists/tables.
 */
export function describeObject(obj: Record<string, unknown>, lang: Lang): Block[] {
  const kv: [string, string][] = [];
  const extra: Block[] = [];
  const walk = (value: unknown, path: string) => {
    if (isNumberMatrix(value)) {
      extra.push({ kind: "heading", level: 3, text: keyLabel(lang, path) }, matrixTable(path, value, lang));
    } else if (isRecord(value) && isShortNumberRecord(value)) {
      kv.push([keyLabel(lang, path), Object.entries(value).map(([k, v]) => `${k} ${scalar(v)}`).join(" · ")]);
    } else if (isRecord(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0) kv.push([keyLabel(lang, path), t(lang, "value.none")]);
      for (const [k, v] of entries) walk(v, path ? `${path}.${k}` : k);
    } else if (Array.isArray(value)) {
      if (value.length > 0 && value.every(isRecord)) {
        extra.push({ kind: "heading", level: 3, text: `${keyLabel(lang, path)} (${integer(value.length)})` });
        extra.push(objectsTable(value, lang));
      } else if (value.length <= 5) {
        kv.push([
          keyLabel(lang, path),
          value.length === 0 ? t(lang, "value.none") : value.map(scalar).join(", "),
        ]);
      } else {
        extra.push({ kind: "heading", level: 3, text: `${keyLabel(lang, path)} (${integer(value.length)})` });
        const items = value.slice(0, MAX_LIST_ROWS).map(scalar);
        if (value.length > MAX_LIST_ROWS) {
          items.push(t(lang, "dataset.more", { n: value.length - MAX_LIST_ROWS }));
        }
        extra.push({ kind: "list", items });
      }
    } else {
      kv.push([keyLabel(lang, path), scalar(value)]);
    }
  };
  walk(obj, "");
  return kv.length > 0 ? [kvTable(lang, kv), ...extra] : extra;
}

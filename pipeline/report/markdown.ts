/**
 * The report as GitHub-flavoured Markdown; figures are referenced as figures/<name>.svg.
 */
import type { Block, ReportDocument } from "./document.ts";

/** Escape a table cell: pipes and line breaks would break the row. */
function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function table(header: string[], rows: string[][], align: ("left" | "right")[] = []): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = header.map((_, i) => align[i] === "right" ? "---:" : "---");
  return [line(header), `| ${rule.join(" | ")} |`, ...rows.map(line)].join("\n");
}

function block(b: Block): string {
  switch (b.kind) {
    case "heading":
      return `${"#".repeat(b.level)} ${b.text}`;
    case "paragraph":
      return b.text;
    case "table":
      return table(b.header, b.rows, b.align);
    case "figure":
      return `![${b.figure.caption}](${b.figure.file})\n\n*${b.figure.caption}*`;
    case "notice":
      return `> **${b.status === "not_implemented" ? "⚠" : "ℹ"}** ${b.text}`;
    case "list":
      return b.items.map((item) => `- ${item}`).join("\n");
    case "images":
      // Six images per table: the images as the header row, their captions below.
      return Array.from({ length: Math.ceil(b.items.length / 6) }, (_, k) => b.items.slice(6 * k, 6 * k + 6))
        .map((row) => table(row.map((i) => `![${i.caption}](${i.file})`), [row.map((i) => i.caption)]))
        .join("\n\n");
    case "imageGrid":
      return table(b.header, b.rows.map((row) => row.map((i) => `![${i.caption}](${i.file})`)));
  }
}

/**
 * Render a report document as Markdown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderMarkdown } from "./markdown.ts";
 * const md = renderMarkdown({
 *   lang: "en", title: "T", figures: [],
 *   blocks: [{ kind: "table", header: ["a", "b"], rows: [["1", "x|y"]], align: ["right", "left"] }],
 * });
 * assert(md === "| a | b |\n| ---: | --- |\n| 1 | x\\|y |\n");
 * ```
 */
export function renderMarkdown(doc: ReportDocument): string {
  return doc.blocks.map(block).join("\n\n") + "\n";
}

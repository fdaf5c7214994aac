/**
 * The report as one self-contained HTML page: every language's blocks side by side in the
 * markup, a button that switches which one shows, CSS and SVG figures inline, nothing fetched.
 */
import type { Block, ReportDocument } from "./document.ts";
import type { Lang } from "./i18n.ts";
import { t } from "./i18n.ts";
import { pngDataUri } from "./images.ts";
import { namespaceSvgIds } from "./render.ts";

/**
 * Escape text for HTML element content and attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./html.ts";
 * assert(escapeHtml('<a href="x">&</a>') === "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const CSS = `
:root { --fg: #1d2329; --muted: #5b6670; --line: #d7dde3; --head: #f3f5f7; --accent: #2c6db5; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: #fff; line-height: 1.6;
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK KR", "Noto Sans KR",
    "Apple SD Gothic Neo", "Malgun Gothic", sans-serif;
}
main { max-width: 1120px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.8rem; margin: 0.5rem 0 1rem; line-height: 1.3; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
p { margin: 0.5rem 0; }
.table-wrap { overflow-x: auto; margin: 0.6rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.3rem; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 0.6rem; }
.samples figure { margin: 0; }
.samples img { width: 96px; height: 96px; image-rendering: pixelated; display: block; border: 1px solid var(--line); }
.samples figcaption { font-size: 0.75rem; margin: 0.1rem 0 0; }
.notice { border-left: 4px solid #9aa5b1; background: #f4f6f8; padding: 0.6rem 0.9rem; margin: 0.6rem 0; }
.notice.not_implemented { border-color: #d39e00; background: #fff8e1; }
.notice.failed { border-color: #c62828; background: #fdecea; }
.bar { position: sticky; top: 0; z-index: 1; display: flex; justify-content: flex-end;
  padding: 0.5rem 1.5rem; background: rgba(255,255,255,0.92); border-bottom: 1px solid var(--line); }
.bar button { font: inherit; font-size: 0.9rem; padding: 0.3rem 0.9rem; border: 1px solid var(--accent);
  color: var(--accent); background: #fff; border-radius: 4px; cursor: pointer; }
.bar button:hover { background: var(--accent); color: #fff; }
@media print {
  .bar { display: none; }
  main { max-width: none; padding: 0; }
  h2, h3 { break-after: avoid; }
  figure, table, .notice { break-inside: avoid; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

/** CSS showing only the blocks of the language named in `<html data-lang>`. */
function languageCss(langs: Lang[]): string {
  return langs.map((l) =>
    `html[data-lang="${l}"] [data-lang-block]:not([data-lang-block="${l}"]) { display: none; }`
  )
    .join("\n");
}

/** Picks the language (?lang=, #lang, saved choice, browser language, else the first) and wires the button. */
function script(langs: Lang[], titles: Record<string, string>): string {
  return `
(function () {
  var langs = ${JSON.stringify(langs)};
  var titles = ${JSON.stringify(titles).replace(/</g, "\\u003c")};
  var root = document.documentElement;
  function ok(l) { return langs.indexOf(l) >= 0 ? l : null; }
  function pick() {
    var q = new URLSearchParams(location.search).get("lang") || location.hash.slice(1);
    if (ok(q)) return q;
    try { var saved = localStorage.getItem("edgeslim.lang"); if (ok(saved)) return saved; } catch (e) {}
    var nav = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (var i = 0; i < nav.length; i++) {
      var p = String(nav[i]).slice(0, 2).toLowerCase();
      if (ok(p)) return p;
    }
    return langs[0];
  }
  function set(l) { root.setAttribute("data-lang", l); root.lang = l; document.title = titles[l]; }
  set(pick());
  var button = document.getElementById("lang-switch");
  if (button) button.addEventListener("click", function () {
    var next = langs[(langs.indexOf(root.getAttribute("data-lang")) + 1) % langs.length];
    set(next);
    try { localStorage.setItem("edgeslim.lang", next); } catch (e) {}
  });
})();
`;
}

function tableHtml(b: Extract<Block, { kind: "table" }>): string {
  const cls = (i: number) => b.align?.[i] === "right" ? ` class="num"` : "";
  const head = b.header.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join("");
  const body = b.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<div class="table-wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function blockHtml(b: Block, lang: Lang): string {
  switch (b.kind) {
    case "heading": {
      const id = b.id ? ` id="${lang}-${escapeHtml(b.id)}"` : "";
      return `<h${b.level}${id}>${escapeHtml(b.text)}</h${b.level}>`;
    }
    case "paragraph":
      return `<p>${escapeHtml(b.text)}</p>`;
    case "table":
      return tableHtml(b);
    case "figure": {
      const svg = namespaceSvgIds(b.figure.svg, b.figure.name.replace(/[^\w-]/g, "-"));
      return `<figure id="fig-${escapeHtml(b.figure.name)}">\n${svg}\n<figcaption>${
        escapeHtml(b.figure.caption)
      }</figcaption>\n</figure>`;
    }
    case "notice":
      return `<div class="notice ${b.status}" role="note">${escapeHtml(b.text)}</div>`;
    case "list":
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`;
    case "images":
      return `<div class="samples">${
        b.items.map((i) =>
          `<figure class="sample"><img src="${pngDataUri(i.png)}" alt="${escapeHtml(i.caption)}">` +
          `<figcaption>${escapeHtml(i.caption)}</figcaption></figure>`
        ).join("")
      }</div>`;
    case "imageGrid": {
      // Styled inline, so the page's stylesheet (and a classification-only page) stays as it was.
      const img = (i: { png: Uint8Array; caption: string }) =>
        `<img src="${pngDataUri(i.png)}" alt="${escapeHtml(i.caption)}" width="${b.px}" height="${b.px}" ` +
        `style="display:block;image-rendering:pixelated">`;
      const head = b.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
      const body = b.rows.map((r) => `<tr>${r.map((i) => `<td>${img(i)}</td>`).join("")}</tr>`).join("\n");
      return `<div class="table-wrap"><table class="image-grid">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
    }
  }
}

/**
 * Blocks as an HTML fragment (no page, no CSS), e.g. for a notebook cell's output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blocksHtml } from "./html.ts";
 * assert(blocksHtml([{ kind: "paragraph", text: "a < b" }], "en") === "<p>a &lt; b</p>");
 * ```
 */
export function blocksHtml(blocks: Block[], lang: Lang): string {
  return blocks.map((b) => blockHtml(b, lang)).join("\n");
}

/**
 * Render one HTML page holding every document (one per language), the first shown by default.
 *
 * @throws Error when `docs` is empty.
 */
export function renderHtml(docs: ReportDocument[]): string {
  if (docs.length === 0) throw new Error("Cannot render the HTML report: no language was given");
  const langs = docs.map((d) => d.lang);
  const first = docs[0];
  const titles = Object.fromEntries(docs.map((d) => [d.lang, d.title]));
  const button = langs.length > 1
    ? `<nav class="bar"><button id="lang-switch" type="button" title="${
      escapeHtml(langs.map((l) => t(l, "lang.switchTitle")).join(" / "))
    }">${
      docs.map((d) => {
        const next = langs[(langs.indexOf(d.lang) + 1) % langs.length];
        return `<span data-lang-block="${d.lang}">${escapeHtml(t(next, "lang.name"))}</span>`;
      }).join("")
    }</button></nav>\n`
    : "";
  const articles = docs.map((d) =>
    `<article data-lang-block="${d.lang}" lang="${d.lang}">\n${
      d.blocks.map((b) => blockHtml(b, d.lang)).join("\n")
    }\n</article>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="${first.lang}" data-lang="${first.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(first.title)}</title>
<style>${CSS}${languageCss(langs)}
</style>
</head>
<body>
${button}<main>
${articles}
</main>
<script>${script(langs, titles)}</script>
</body>
</html>
`;
}

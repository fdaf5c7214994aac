import assert from "node:assert/strict";
import { curvePoints, FONT_FAMILY, trainingCurvesSpec } from "../pipeline/report/figures.ts";
import { duration, integer, percent, scalar } from "../pipeline/report/format.ts";
import { LANGS, t } from "../pipeline/report/i18n.ts";
import { namespaceSvgIds, renderSvg } from "../pipeline/report/render.ts";
import { fakeResults } from "./report_fixture.ts";

/** Paths drawn by Vega line marks (one per series), not axes or legends. */
function linePaths(svg: string): number {
  return [...svg.matchAll(/aria-roledescription="line mark container">\s*<path /g)].length;
}

Deno.test("figures: training curves render to SVG with one line per model × split × panel", async () => {
  const { models } = fakeResults();
  for (const lang of LANGS) {
    const figure = trainingCurvesSpec(models, lang);
    assert.ok(figure);
    const svg = await renderSvg(figure.spec);
    assert.ok(svg.startsWith("<svg"));
    assert.equal(linePaths(svg), 2 * 2 * 2);
    assert.ok(svg.includes(t(lang, "curves.loss")), "translated panel title");
    assert.ok(svg.includes(t(lang, "curves.epoch")), "translated axis title");
    assert.ok(svg.includes("Noto Sans CJK KR"), "CJK font stack");
    assert.match(svg, /width="\d+" height="\d+"/);
  }
  assert.ok(FONT_FAMILY.endsWith("sans-serif"));
});

Deno.test("figures: curve points skip missing values instead of plotting zeros", () => {
  const { models } = fakeResults();
  const teacher = models.teacher;
  teacher.history[1] = { ...teacher.history[1], val_loss: Number.NaN };
  const points = curvePoints({ teacher }, "en");
  assert.equal(points.length, 3 * 4 - 1);
  assert.ok(points.every((p) => Number.isFinite(p.value)));
  assert.equal(trainingCurvesSpec({}, "ko"), null);
});

Deno.test("render: namespaceSvgIds keeps references consistent", () => {
  const svg =
    '<svg><defs><clipPath id="c1"><rect/></clipPath></defs><g clip-path="url(#c1)"/><use href="#c1"/></svg>';
  const out = namespaceSvgIds(svg, "ko");
  assert.ok(out.includes('id="ko-c1"') && out.includes("url(#ko-c1)") && out.includes('href="#ko-c1"'));
  assert.equal(namespaceSvgIds("<svg/>", "x"), "<svg/>");
});

Deno.test("format: percent, integers, durations, scalars; missing is a dash, never zero", () => {
  assert.equal(percent(0.975), "97.50");
  assert.equal(percent(1), "100.00");
  assert.equal(percent(undefined), "—");
  assert.equal(percent(Number.NaN), "—");
  assert.equal(integer(93954), "93,954");
  assert.equal(duration(59.94, "en"), "59.9 s");
  assert.equal(duration(250.8, "ko"), "4분 11초");
  assert.equal(scalar(null), "—");
  assert.equal(scalar([1, 2]), "[1,2]");
});

Deno.test("i18n: every string is translated and placeholders match", () => {
  const keys = ["title.default", "notice.not_implemented", "models.intro", "unit.minutes"] as const;
  for (const key of keys) {
    const holes = (lang: "ko" | "en") => [...t(lang, key).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(holes("ko"), holes("en"), key);
  }
  assert.equal(t("ko", "col.accuracy"), "정확도 (%)");
  assert.equal(t("ko", "status.not_implemented"), "아직 구현되지 않음");
});

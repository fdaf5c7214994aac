import assert from "node:assert/strict";
import { paramsSchema, type ReportParams, run } from "../pipeline/stages/report.ts";
import { fakeResults, makeContext, tempDirs } from "./report_fixture.ts";
import type { StageModule } from "../pipeline/core/types.ts";
import type { Results } from "../pipeline/stages/parts.ts";

// The stage module satisfies the runner's contract.
const _module: StageModule<ReportParams> = { paramsSchema, run };

async function build(results: Results | undefined, params: Record<string, unknown> = {}) {
  const { artifacts, out } = await tempDirs(results);
  const { ctx, logs } = makeContext(paramsSchema.parse(params), artifacts, out);
  const result = await run(ctx);
  const read = (name: string) => Deno.readTextFile(`${out}/${name}`);
  return { artifacts, out, result, logs, read };
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

Deno.test("report: index.html inlines the figures and holds both languages", async () => {
  const { read, result, logs } = await build(fakeResults());
  const html = await read("index.html");
  assert.equal(count(html, "<svg"), 4, "training curves and confusion heatmaps, per language");
  assert.ok(!html.includes("<img"), "figures are inlined, not linked");
  for (
    const heading of ["개요", "Overview", "학습 곡선", "Training curves", "혼동 행렬", "Confusion matrices"]
  ) {
    assert.ok(html.includes(heading), `heading "${heading}" is missing`);
  }
  assert.ok(html.includes('data-lang-block="ko"') && html.includes('data-lang-block="en"'));
  assert.ok(html.includes('id="lang-switch"'), "language switch button");
  assert.ok(html.includes("@media print"));
  assert.equal(result.summary.figures, 4);
  assert.equal(logs.warn.length, 0);
});

Deno.test("report: numbers are formatted from results.json", async () => {
  const { read } = await build(fakeResults());
  for (const file of ["index.html", "report.en.md", "report.ko.md"]) {
    const text = await read(file);
    assert.ok(text.includes("97.50"), `${file}: teacher accuracy`);
    assert.ok(text.includes("96.25"), `${file}: small accuracy`);
    assert.ok(text.includes("93,954"), `${file}: teacher params`);
    assert.ok(text.includes("6,322"), `${file}: small tfjs params`);
    assert.ok(text.includes("0.9699"), `${file}: F1`);
    assert.ok(text.includes("0123456789ab"), `${file}: short pipeline sha`);
    assert.ok(!text.includes("0123456789abc"), `${file}: sha is shortened`);
  }
  const md = await read("report.en.md");
  assert.match(md, /\| teacher \| baseline \| 93,954 \| 94,402 \| 3 \| 3 \| 97\.50 \|/);
  assert.match(md, /\| train \| 964 \| 984 \| 1,948 \|/, "class counts per split with total");
  assert.match(
    md,
    /### Skipped files \(1\)\n\n\| Path \| Reason \|\n\| --- \| --- \|\n\| with_mask\/broken\.png \| truncated PNG \|/,
  );
  assert.equal(md.split("broken.png").length - 1, 1, "summary and dataset record are merged, not repeated");
  assert.match(await read("report.ko.md"), /\| 분할 \| with_mask \| without_mask \| 합계 \|/);
});

Deno.test("report: a stage that is not implemented or not run is said so, in both languages", async () => {
  const { read } = await build(fakeResults());
  const html = await read("index.html");
  const en = await read("report.en.md");
  const ko = await read("report.ko.md");
  assert.ok(
    en.includes(
      "## Compression techniques\n\n> **⚠** The “Compression (compress)” stage is not implemented yet",
    ),
  );
  assert.ok(ko.includes("## 경량화 기법\n\n> **⚠** “경량화 (compress)” 단계는 아직 구현되지 않아"));
  assert.ok(en.includes("“Benchmark (bench)” stage has not been run"));
  assert.ok(ko.includes("“벤치마크 (bench)” 단계가 아직 실행되지 않아"));
  assert.ok(html.includes('class="notice not_implemented"'));
  assert.ok(html.includes("not implemented yet") && html.includes("아직 구현되지 않음"));
  // The compress section holds the notice and nothing else: no zero-filled table.
  const compress = en.slice(en.indexOf("## Compression"), en.indexOf("## Export"));
  assert.ok(!compress.includes("|"), compress);
});

Deno.test("report: Markdown references figure files that exist, with their Vega-Lite specs", async () => {
  const { read, out } = await build(fakeResults());
  for (const lang of ["en", "ko"]) {
    const md = await read(`report.${lang}.md`);
    const refs = [...md.matchAll(/\]\((figures\/[^)]+\.svg)\)/g)].map((m) => m[1]);
    assert.deepEqual(refs, [`figures/training_curves.${lang}.svg`, `figures/confusion.${lang}.svg`]);
    for (const ref of refs) {
      const svg = await Deno.readTextFile(`${out}/${ref}`);
      assert.ok(svg.startsWith("<svg"));
      const png = await Deno.readFile(`${out}/${ref.replace(/\.svg$/, ".png")}`);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "PNG beside the SVG");
    }
    const spec = JSON.parse(await Deno.readTextFile(`${out}/figures/training_curves.${lang}.vl.json`));
    assert.equal(spec.data.values.length, 2 * 3 * 4, "2 models × 3 epochs × 4 series");
  }
});

Deno.test("report: a missing results.json is a clear error naming the path", async () => {
  const { artifacts, out } = await tempDirs();
  const { ctx } = makeContext(paramsSchema.parse({}), artifacts, out);
  await assert.rejects(() => run(ctx), (err: Error) => {
    assert.ok(err.message.includes(`"${artifacts}/results.json"`), err.message);
    assert.match(err.message, /does not exist/);
    return true;
  });
});

Deno.test("report: a malformed results.json names the path and the bad key", async () => {
  const { artifacts, out } = await tempDirs();
  await Deno.writeTextFile(`${artifacts}/results.json`, JSON.stringify({ profile: 3 }));
  const { ctx } = makeContext(paramsSchema.parse({}), artifacts, out);
  await assert.rejects(() => run(ctx), /results\.json" has an unexpected shape: profile/);
  await Deno.writeTextFile(`${artifacts}/results.json`, "{");
  await assert.rejects(() => run(ctx), /Cannot parse results file/);
});

Deno.test("report: params are strict, default to both languages, and one language drops the switch", async () => {
  assert.deepEqual(paramsSchema.parse({}).languages, ["ko", "en"]);
  assert.throws(() => paramsSchema.parse({ languages: ["ko"], colour: "red" }));
  assert.throws(() => paramsSchema.parse({ languages: ["fr"] }));
  assert.throws(() => paramsSchema.parse({ languages: ["en", "en"] }));
  assert.throws(() => paramsSchema.parse({ languages: [] }));
  const { read, out } = await build(fakeResults(), { languages: ["en"], title: "Mask study" });
  const html = await read("index.html");
  assert.ok(!html.includes('id="lang-switch"'));
  assert.ok(html.includes("<h1>Mask study</h1>"));
  assert.equal(count(html, "<svg"), 2, "curves and confusion, English only");
  await assert.rejects(() => Deno.stat(`${out}/report.ko.md`), Deno.errors.NotFound);
});

Deno.test("report: tolerates an early results.json (no models, odd fetch summary)", async () => {
  const results = fakeResults();
  results.models = {};
  results.extra = {};
  results.stages = {
    fetch: {
      status: "done",
      summary: { files: [{ name: "a.png", reason: "truncated" }], note: null, nested: { a: { b: "x" } } },
    },
    train: { status: "not_implemented" },
  };
  const { read } = await build(results);
  const en = await read("report.en.md");
  assert.ok(en.includes("| a.png | truncated |"));
  assert.ok(en.includes("| nested.a.b | x |"));
  assert.ok(en.includes("| note | — |"));
  assert.ok(en.includes("The “Training (train)” stage is not implemented yet"));
  assert.ok(!en.includes("figures/"));
  assert.equal(/<svg/.test(await read("index.html")), false);
});

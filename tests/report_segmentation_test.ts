import assert from "node:assert/strict";
import sharp from "sharp";
import { paramsSchema, run } from "../pipeline/stages/report.ts";
import { SEG_SEED_FIGURES } from "../pipeline/report/seed_figures.ts";
import { bestPerParameter, segTableRows } from "../pipeline/report/segmentation_data.ts";
import {
  type AnyView,
  fakeFetchDir,
  fakeSegmentationDirs,
  fakeSegmentationResults,
  fullResults,
  makeContext,
  tempDirs,
} from "./report_fixture.ts";

async function build(views: AnyView[], dirs: Record<string, string> = {}) {
  const { artifacts, out } = await tempDirs(views);
  const { ctx, logs } = makeContext(paramsSchema.parse({ samples: 4 }), artifacts, out);
  ctx.depDirs = dirs;
  const result = await run(ctx);
  const read = (name: string) => Deno.readTextFile(`${out}/${name}`);
  return { out, result, logs, read };
}

async function buildBoth() {
  const dirs = { fetch: await fakeFetchDir(4), ...await fakeSegmentationDirs(4) };
  return build([fullResults(), fakeSegmentationResults()], dirs);
}

/** The Markdown table row of `variant` in `format` in the lightweight-techniques table, as cells. */
function tableRow(md: string, variant: string, format: string): string[] {
  const section = md.slice(md.indexOf("### Lightweight techniques"), md.indexOf("### The seed beside ours"));
  const line = section.split("\n").find((l) =>
    l.startsWith(`| ${variant} | `) && l.split(" | ")[2] === format
  );
  assert.ok(line, `no row ${variant} ${format}`);
  return line.slice(2, -2).split(" | ");
}

Deno.test("report segmentation: the techniques table has every variant, every column from the fixture", async () => {
  const { read, logs } = await buildBoth();
  assert.equal(logs.warn.length, 0, logs.warn.join("\n"));
  const en = await read("report.en.md");
  const variants = Object.keys(fakeSegmentationResults().models);
  assert.equal(variants.length, 10);
  for (const v of variants) {
    const cells = tableRow(en, v, "fp32");
    assert.equal(cells.length, 17, v);
    // Every column but "Best" is filled for a trained model.
    assert.deepEqual(cells.slice(0, 16).filter((c) => c === "—"), [], `${v}: ${cells.join(" | ")}`);
    for (const f of ["onnx-fp16", "onnx-int8"]) tableRow(en, v, f);
  }
  assert.deepEqual(tableRow(en, "unet_depthwise", "fp32").slice(0, 16), [
    "unet_depthwise",
    "depthwise_separable",
    "fp32",
    "380,764",
    "380,764",
    "344.1",
    "1.452", // 380,764 × 4 B in MiB
    "0.8012",
    "0.6812",
    "0.2988",
    "2.104", // Dice per million non-zero params
    "9.80",
    "102.0",
    "58.80", // rpi4 at its fewest threads (1), not 4
    "17.0",
    "14.5 s",
  ]);
  // An int8 file: its own size and the export stage's Dice; not measured at fp16 on rpi4.
  assert.deepEqual(tableRow(en, "unet_standard", "onnx-int8").slice(6, 8), ["1.839", "0.7973"]);
  assert.deepEqual(tableRow(en, "unet_standard", "onnx-fp16").slice(13, 15), ["—", "—"]);
  assert.equal(tableRow(en, "unet_standard_s80", "fp32")[4], "385,120", "non-zero params of 80 % sparsity");
});

Deno.test("report segmentation: best per parameter and per ms are marked on the right rows, with the verdict", async () => {
  const { read } = await buildBoth();
  const en = await read("report.en.md");
  assert.equal(tableRow(en, "unet_small_kd", "fp32")[16], "★ Dice / parameter");
  assert.equal(en.split("★ Dice / parameter |").length - 1, 1, "one row marked");
  assert.equal(tableRow(en, "unet_small_kd", "onnx-int8")[16], "◆ Dice / ms (local) · ◆ Dice / ms (rpi4)");
  assert.ok(en.includes(
    "Best Dice per parameter: unet_small_kd (distillation), Dice 0.7489 with 120,825 non-zero parameters " +
      "(6.198 per million). This differs from the seed, which found the depthwise U-Net best per parameter; " +
      "ours, unet_depthwise, reaches 2.104 per million.",
  ));
  assert.ok(
    en.includes("unet_small_kd (Dice 0.7489) beat unet_small trained alone (Dice 0.7315) by 1.74 points"),
  );
  assert.ok(
    en.includes("Best Dice per millisecond on “rpi4”: unet_small_kd onnx-int8 (Dice 0.7339, 8.28 ms)."),
  );
  // Without the small U-Nets the depthwise one wins per parameter, as in the seed.
  const seg = fakeSegmentationResults();
  seg.rows = seg.rows.filter((r) => !r.variant.startsWith("unet_small") && r.variant !== "unet_standard_s80");
  for (const v of ["unet_small", "unet_small_kd", "unet_standard_s80"]) delete seg.models[v];
  assert.equal(bestPerParameter(segTableRows(seg))?.variant, "unet_depthwise");
  const matched = await (await build([seg])).read("report.en.md");
  assert.ok(matched.includes("(2.104 per million). This matches the seed"), "matches the seed");
  assert.equal(tableRow(matched, "unet_depthwise", "fp32")[16], "★ Dice / parameter");
});

Deno.test("report segmentation: the seed's figures sit in their own columns beside ours, and the search outcome", async () => {
  const { read } = await buildBoth();
  const en = await read("report.en.md");
  assert.equal(SEG_SEED_FIGURES.unet_depthwise.params, 380_764);
  assert.match(
    en,
    /\| unet_standard \(Standard U-Net\) \| 0\.4719 \| 0\.8123 \| 7\.81 \| 7\.35 \| 2,047,647 \| 1,925,601 \| 19 ms\/step \| 14\.5 s in all \| — \| 46\.7 \(onnx-fp32\) \| 7\.8 \(onnx-fp32\) \|/,
  );
  assert.match(
    en,
    /\| unet_depthwise \(Depthwise Convolution U-Net\) \| 0\.4963 \| 0\.8012 \| 1\.45 \| 1\.45 \| 380,764 \| 380,764 \| 26 ms\/step \| 14\.5 s in all \| 8\.5 \| 102\.0 \(onnx-fp32\) \| 17\.0 \(onnx-fp32\) \|/,
  );
  assert.match(
    en,
    /\| unet_depthwise \(Depthwise Convolution U-Net\) \| TFLite \| 0\.4129 \| 0\.5645 \| 0\.8011 \| 0\.3988 \|/,
  );
  assert.ok(en.includes("Dice — seed 000") && en.includes("Dice — ours (tflite-fp32)"));
  assert.ok(en.includes(
    "No U-Net of the space searched has the seed's 2,047,647 parameters (69,984 shapes: first width " +
      "8/16/24/32/48/64 doubling over 2–5 levels plus a bottleneck). Nearest: 32-64-128-256, standard, " +
      "2 conv/level, BN 4/ch, transpose-2 (2,049,441, Δ +1,794); 24-48-96-192-384",
  ));
  const ko = await read("report.ko.md");
  assert.ok(
    ko.includes("### 시드와 우리 결과 비교") && ko.includes("Dice — 시드 000") && ko.includes("| 0.4963 |"),
  );
  assert.ok(ko.includes("가장 가까운 구조: 32-64-128-256"));
  // A search that found the count is said so.
  const seg = fakeSegmentationResults();
  seg.extra.train!.param_search = {
    target: 2_047_647,
    found: [{ description: "32-64-128-256, standard, BN", params: 2_047_647 }],
    nearest: [],
    searched: 10,
    space: "s",
  };
  const found = await (await build([seg])).read("report.en.md");
  assert.ok(
    found.includes("10 U-Net shapes searched (s); exact matches: 32-64-128-256, standard, BN (2,047,647)."),
  );
});

Deno.test("report segmentation: figures with their specs, overlay PNGs at the right size", async () => {
  const { out, read, result } = await buildBoth();
  const files = result.summary.files as string[];
  for (const name of ["seg_training_curves", "seg_dice_params", "seg_pareto_0", "seg_pareto_1"]) {
    for (const lang of ["ko", "en"]) {
      for (const ext of ["svg", "png", "vl.json"]) {
        assert.ok(files.includes(`figures/${name}.${lang}.${ext}`), `${name}.${lang}.${ext}`);
      }
    }
  }
  const curves = JSON.parse(await read("figures/seg_training_curves.en.vl.json"));
  assert.equal(curves.data.values.length, 10 * 3 * 2, "10 models × 3 epochs × (val Dice, val loss)");
  assert.deepEqual(
    curves.data.values.filter((p: { model: string }) => p.model === "unet_depthwise").slice(0, 2),
    [
      { model: "unet_depthwise", epoch: 1, panel: "dice", value: 0.8012 - 0.32 + 0.1 },
      { model: "unet_depthwise", epoch: 1, panel: "loss", value: 1.9 - 0.8012 - 0.2 },
    ],
  );
  const pareto = JSON.parse(await read("figures/seg_pareto_1.en.vl.json"));
  assert.equal(pareto.data.values.length, 10 * 2, "rpi4: 10 variants × 2 formats at 1 thread");
  const front = pareto.data.values.filter((p: { front: boolean }) => p.front);
  assert.equal(front.length, 11);
  assert.deepEqual(front[0], {
    variant: "unet_standard",
    technique: "reference",
    format: "onnx-fp32",
    latency: 21.4 * 6,
    score: 0.8122,
    front: true,
  });
  const params = JSON.parse(await read("figures/seg_dice_params.en.vl.json"));
  assert.deepEqual(
    params.data.values.filter((p: { best: boolean }) => p.best).map((p: { variant: string }) => p.variant),
    [
      "unet_small_kd",
    ],
  );

  // Overlays: 4 test images × (image, truth, reference, depthwise, best per parameter), 96 px (8 px × 12).
  const overlays = files.filter((f) => f.startsWith("figures/segmentation/"));
  assert.equal(overlays.length, 4 * 5);
  for (const f of overlays) {
    const meta = await sharp(await Deno.readFile(`${out}/${f}`)).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [96, 96, "png"], f);
  }
  assert.ok(
    !files.includes("figures/segmentation/test_0000_unet_half.png"),
    "unet_half is recorded but not chosen",
  );
  // Pixel (3, 3) of image 0 is inside the true square: half image, half green; (0, 0) is the image itself.
  const raw = async (
    f: string,
  ) => (await sharp(await Deno.readFile(`${out}/${f}`)).removeAlpha().raw().toBuffer());
  const image = await raw("figures/segmentation/test_0000.png");
  const truth = await raw("figures/segmentation/test_0000_truth.png");
  const at = (
    buf: Uint8Array,
    x: number,
    y: number,
  ) => [...buf.subarray(3 * (y * 96 + x), 3 * (y * 96 + x) + 3)];
  const inside = at(image, 3 * 12, 3 * 12);
  assert.deepEqual(
    at(truth, 3 * 12, 3 * 12),
    [0, 200, 80].map((g, c) => Math.round(0.5 * inside[c] + 0.5 * g)),
  );
  assert.deepEqual(at(truth, 0, 0), at(image, 0, 0));
  const en = await read("report.en.md");
  assert.ok(en.includes("| Image | Ground truth | unet_standard | unet_depthwise | unet_small_kd |"));
  assert.ok(en.includes("![#3 unet_small_kd](figures/segmentation/test_0003_unet_small_kd.png)"));
  const html = await read("index.html");
  assert.equal(html.split('<table class="image-grid">').length - 1, 2, "one grid per language");
  assert.equal(
    (result.summary.segmentation as { overlays: string }).overlays,
    "4 image(s) × unet_standard, unet_depthwise, unet_small_kd",
  );
});

Deno.test("report segmentation: both tracks say so in ko and en; classification sections stay", async () => {
  const { read } = await buildBoth();
  const en = await read("report.en.md");
  const ko = await read("report.ko.md");
  assert.ok(en.startsWith("# edgeslim report — quick: classification and segmentation\n"));
  assert.ok(ko.startsWith("# edgeslim 보고서 — quick: 분류와 분할\n"));
  assert.ok(en.includes("It covers both seed projects: the face-mask classifier (seed 003)"));
  assert.ok(ko.includes("두 시드 프로젝트를 모두 다룹니다"));
  for (
    const h of [
      "## Base model and trained models",
      "## Compression techniques",
      "## U-Net segmentation (seed 000)",
    ]
  ) {
    assert.ok(en.includes(h), h);
  }
  for (
    const h of [
      "## U-Net 분할 (시드 000)",
      "### 경량화 기법",
      "### 테스트 이미지: 정답 마스크와 예측 마스크",
      "### 결론 (U-Net)",
    ]
  ) {
    assert.ok(ko.includes(h), h);
  }
  assert.ok(en.indexOf("## U-Net segmentation") > en.indexOf("## Conclusion and future work"));
  assert.ok(en.includes("| U-Net training (seg_train) | done | 1 min 1 s |"));
  assert.ok(!en.includes("Add the second seed's depthwise-separable U-Net"), "no longer future work");
  assert.ok(ko.includes("| unet_small_kd | distillation | fp32 | 120,825 |"));
});

Deno.test("report segmentation: a segmentation-only results.json renders the U-Net section alone", async () => {
  const { read, result, logs } = await build([fakeSegmentationResults()], await fakeSegmentationDirs(2));
  const en = await read("report.en.md");
  assert.ok(en.startsWith("# edgeslim report — quick\n"));
  assert.ok(en.includes("It covers the U-Net seed (seed 000) alone"));
  assert.ok(en.includes("## U-Net segmentation (seed 000)") && en.includes("## Environment"));
  for (
    const h of [
      "## Base model",
      "## Compression techniques",
      "## Export",
      "Sample test images",
      "Data (fetch)",
    ]
  ) {
    assert.ok(!en.includes(h), `classification part "${h}" is left out`);
  }
  assert.ok(en.includes("| Segmentation data (seg_fetch) | done |"));
  assert.ok(en.includes("cpu: Test CPU · cores: 2"), "the segmentation bench's machine in the footer");
  assert.equal(result.summary.models, 0);
  assert.equal(result.summary.samples, 0);
  assert.equal(
    (result.summary.files as string[]).filter((f) => f.startsWith("figures/segmentation/")).length,
    2 * 5,
  );
  assert.equal(logs.warn.length, 0);
});

Deno.test("report segmentation: missing stages and fields are shown as missing, never a crash", async () => {
  const seg = fakeSegmentationResults();
  seg.rows = [{ variant: "unet_standard", technique: "reference", params_total: 1_925_601 }];
  seg.models = {};
  seg.extra = {};
  seg.stages = {
    seg_fetch: { status: "done" },
    seg_train: { status: "done" },
    seg_bench: { status: "failed" },
  };
  const { read, logs } = await build([fullResults(), seg], { fetch: await fakeFetchDir(4) });
  const en = await read("report.en.md");
  const cells = tableRow(en, "unet_standard", "fp32");
  assert.deepEqual(cells.slice(3, 8), ["1,925,601", "—", "—", "—", "—"]);
  assert.ok(en.includes("The “U-Net benchmark (seg_bench)” stage failed"));
  assert.ok(en.includes("The training stage recorded no search for the seed's 2,047,647 parameters."));
  assert.ok(en.includes("No stage recorded predicted masks"));
  assert.ok(
    en.includes("| unet_standard (Standard U-Net) | 0.4719 | — | 7.81 | — | 2,047,647 | 1,925,601 |"),
  );
  assert.equal(logs.warn.length, 0, "no recorded masks: nothing to warn about");
  // Recorded masks without the stages' folders: left out, said so.
  const { logs: warned } = await build([fakeSegmentationResults()]);
  assert.ok(
    warned.warn.some((w) => w.includes(`stage "seg_fetch" is not a dep of "report"`)),
    warned.warn.join("\n"),
  );
});

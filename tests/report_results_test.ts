import assert from "node:assert/strict";
import { paramsSchema, run } from "../pipeline/stages/report.ts";
import { SEED_FIGURES } from "../pipeline/report/seed_figures.ts";
import { paretoFront } from "../pipeline/report/variants.ts";
import { fakeFetchDir, fullResults, makeContext, tempDirs } from "./report_fixture.ts";

async function buildFull() {
  const { artifacts, out } = await tempDirs(fullResults());
  const { ctx, logs } = makeContext(paramsSchema.parse({ samples: 4 }), artifacts, out);
  ctx.depDirs = { fetch: await fakeFetchDir(4) };
  const result = await run(ctx);
  const read = (name: string) => Deno.readTextFile(`${out}/${name}`);
  return { out, result, logs, read };
}

Deno.test("report results: technique tables carry the seed's figures in their own columns", async () => {
  const { read } = await buildFull();
  const en = await read("report.en.md");
  assert.ok(en.includes("### Knowledge distillation") && en.includes("### Structured (channel) pruning"));
  assert.ok(en.includes("Latency (ms) — seed (Jetson Nano)"));
  // teacher in the distillation experiment: ours then the seed's 93,954 / 0.36 MB / 72.48 ms.
  assert.match(en, /\| teacher \| baseline \| 93,954 \| 93,954 \|[^\n]*\| 93,954 \| 0\.36 \| 72\.48 \| — \|/);
  assert.match(en, /\| small_kd \|[^\n]*\| 6,210 \| — \| 20\.76 \| — \|/);
  assert.match(en, /\| teacher_p50 \|[^\n]*\| 23,938 \| 0\.09 \| 12\.19 \| 6\.5 \|/);
  assert.equal(SEED_FIGURES.pruning.teacher_p70.latency_ms, 8.98);
  assert.ok(en.includes("| temperature | 4 |") && en.includes("| prune_ratio | 0.5 |"));
  // pruning: accuracy after the cut, after BN recalibration, after fine-tuning
  assert.match(en, /\| teacher_p50 \| 79\.00 \| 81\.25 \| 95\.50 \|/);
  // paired against the teacher: points, discordant images, McNemar p, and what one image is worth
  assert.match(en, /\| teacher_p50 \| 95\.50 \| -2\.00 \| 3 \| 1 \| 0\.625 \|/);
  assert.ok(en.includes("Paired on the same 400 test images (one image = 0.25 points)"));
  const ko = await read("report.ko.md");
  assert.ok(ko.includes("같은 테스트 이미지 400장"));
  assert.ok(ko.includes("시드 (Jetson Nano)") && ko.includes("### 지식 증류 (Knowledge Distillation)"));
});

Deno.test("report results: conclusion is computed from the rows and says honestly which won", async () => {
  const { read } = await buildFull();
  const en = await read("report.en.md");
  assert.ok(en.includes("small_kd (96.25 %) beat small_alone trained alone (94.00 %) by 2.25 points"));
  assert.ok(
    en.includes("Pareto front of accuracy against latency (headline format) holds: small_kd (0.150 ms"),
  );
  assert.ok(en.includes("teacher_s80 has 80.0 % zero weights"));
  const ko = await read("report.ko.md");
  assert.ok(ko.includes("지식 증류가 이겼습니다"));
});

Deno.test("report results: figures, samples and environment are written", async () => {
  const { out, read, result, logs } = await buildFull();
  assert.equal(logs.warn.length, 0);
  const files = result.summary.files as string[];
  for (
    const name of [
      "metrics",
      "pareto_0",
      "speedup_0",
      "confusion",
      "training_curves",
      "training_curves_distillation",
      "recovery_pruning",
      "recovery_unstructured",
    ]
  ) {
    for (const lang of ["ko", "en"]) {
      for (const ext of ["svg", "png", "vl.json"]) {
        assert.ok(files.includes(`figures/${name}.${lang}.${ext}`), `figures/${name}.${lang}.${ext}`);
      }
    }
  }
  // recovery: teacher_p50 after the cut, after BN recalibration, fine-tuned; the teacher as a rule
  const recovery = JSON.parse(await read("figures/recovery_pruning.en.vl.json"));
  assert.deepEqual(
    recovery.layer[0].data.values.map((v: { step: string; amount: number; accuracy: number }) => [
      v.step,
      v.amount,
      v.accuracy,
    ]),
    [["After the cut", 50, 0.79], ["BN recalibrated", 50, 0.8125], ["Fine-tuned", 50, 0.955]],
  );
  assert.equal(recovery.layer[1].data.values[0].accuracy, 0.975);
  assert.equal(result.summary.samples, 4);
  assert.ok((await Deno.stat(`${out}/figures/samples/test_0003.png`)).size > 0);
  const en = await read("report.en.md");
  assert.ok(en.includes("![#1 true: without_mask](figures/samples/test_0001.png)"));
  assert.ok(en.includes("predicted labels are not shown"));
  assert.match(en, /\| Git commit \| ([0-9a-f]{40}|unknown) \|/);
  assert.ok(en.includes("| onnxruntime-node | 1.30.0 |") && en.includes("| Deno | "));
  assert.ok(en.includes("cpu: Test CPU · cores: 2"));
  const html = await read("index.html");
  assert.equal(html.split('src="data:image/png;base64,').length - 1, 2 * 4, "samples inlined per language");
});

Deno.test("report results: Pareto front keeps only undominated points", () => {
  const pts = [
    { latency: 1, score: 0.9 },
    { latency: 1, score: 0.9 },
    { latency: 2, score: 0.85 },
    { latency: 3, score: 0.95 },
  ];
  assert.deepEqual(paretoFront(pts), [0, 1, 3]);
  // A lower-is-better metric flips which points dominate.
  assert.deepEqual(paretoFront(pts, { higherIsBetter: false }), [0, 1, 2]);
});

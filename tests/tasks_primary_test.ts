import assert from "node:assert/strict";
import { trackOf, writeResults } from "../pipeline/core/results.ts";
import { conclusionSection, devicesSection } from "../pipeline/report/sections.ts";
import { paretoFront } from "../pipeline/report/variants.ts";
import type { ResultRow, Results } from "../pipeline/stages/parts.ts";
import { primaryOf, taskByName, taskOf } from "../pipeline/tasks/mod.ts";

/** A segmentation results set: U-Net variants with `dice` and no `accuracy`, benched locally. */
function segmentationResults(): Results {
  const variants: [string, string, number, number][] = [
    ["unet", "baseline", 0.52, 10],
    ["unet_ds", "depthwise", 0.4963, 4],
    ["unet_tiny", "depthwise", 0.40, 5],
  ];
  const rows: ResultRow[] = variants.flatMap(([variant, technique, dice, ms]) => [
    { variant, technique, params_total: 1000, dice, format: "tfjs", device: "local" },
    {
      variant,
      technique,
      dice,
      latency_ms_mean: ms,
      latency_ms_p50: ms,
      fps: 1000 / ms,
      execution_provider: "cpu",
      batch: 1,
      runs: 30,
      runtime: "onnxruntime-node",
      format: "onnx-fp32",
      device: "local",
      threads: 1,
    },
  ]);
  return {
    profile: "seg",
    generated_at: "2026-12-01T00:00:00.000Z",
    pipeline_file: "pipeline.yaml",
    pipeline_sha256: "0".repeat(64),
    seed: 1,
    task: "segmentation",
    stage_names: { bench: "bench" },
    stages: { bench: { status: "done" } },
    models: {},
    rows,
    extra: {},
  };
}

Deno.test("tasks: a results set's task decides the primary metric; unrecorded is classification", () => {
  assert.equal(taskOf(segmentationResults()).primary.name, "dice");
  assert.equal(taskOf({}).primary.name, "accuracy");
  assert.throws(() => taskByName("detection"), /Unknown task "detection"/);
  assert.equal(primaryOf({ accuracy: 0.9 }, taskByName("segmentation")), undefined);
});

Deno.test("tasks: a segmentation run's Pareto front, fastest variant and conclusion come from Dice", async () => {
  const results = segmentationResults();
  const task = taskOf(results);
  const measured = results.rows.filter((r) => r.latency_ms_mean !== undefined);
  const front = paretoFront(
    measured.map((r) => ({ latency: r.latency_ms_mean!, score: primaryOf(r, task)! })),
    task.primary,
  );
  assert.deepEqual(front.map((i) => measured[i].variant), ["unet", "unet_ds"], "unet_tiny is dominated");

  const items = conclusionSection(results, "en").flatMap((b) => b.kind === "list" ? b.items : []);
  assert.ok(
    items.includes(
      "On “local” the Pareto front of Dice against latency (headline format) holds: " +
        "unet_ds (4.000 ms, 49.63 %), unet (10.000 ms, 52.00 %).",
    ),
    items.join("\n"),
  );
  assert.ok(
    items.includes(
      "The fastest variant is unet_ds: 4.000 ms, 2.50× faster than unet, at 49.63 % Dice (unet: 52.00 %).",
    ),
    items.join("\n"),
  );
  const ko = conclusionSection(results, "ko").flatMap((b) => b.kind === "list" ? b.items : []);
  assert.ok(ko.some((s) => s.startsWith("“local”에서 Dice 대 추론 시간")), ko.join("\n"));

  const blocks = await devicesSection(results, "en");
  const table = blocks.find((b) => b.kind === "table");
  assert.ok(table?.kind === "table");
  assert.deepEqual(table.header, ["Variant", "onnx-fp32 Latency (ms)", "onnx-fp32 Dice (%)"]);
  assert.deepEqual(table.rows[1], ["unet_ds", "4.000", "49.63"]);
  const pareto = blocks.find((b) => b.kind === "figure" && b.figure.name.startsWith("pareto"));
  assert.ok(pareto?.kind === "figure");
  const values =
    (pareto.figure.spec as { data: { values: { variant: string; front: boolean }[] } }).data.values;
  assert.deepEqual(values.filter((v) => v.front).map((v) => v.variant), ["unet", "unet_ds"]);
});

/**
 * Files outside pipeline/tasks/ that may still read `accuracy` by name, and why. Everything that
 * ranks, compares, plots or concludes goes through the task's primary metric instead.
 */
const ACCURACY_READERS: Record<string, string> = {
  // The classifier trainer reads its ClassifierMetrics (owned by the classification task).
  "pipeline/train/fit.ts": "classifier training loop",
  "pipeline/train/metrics.ts": "ClassifierMetrics example",
  // Label keys ("col.accuracy", "metric.accuracy", "curves.accuracy") and the classifier's
  // training-curve panel (EpochRecord train_acc / val_acc).
  "pipeline/report/i18n.ts": "translation keys",
  "pipeline/report/figures.ts": "training-curve panel name",
};

Deno.test("tasks: nothing outside pipeline/tasks/ reads `.accuracy`, except the listed classifier code", async () => {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && path !== "pipeline/tasks") await walk(path);
      else if (e.isFile && /\.(ts|mjs)$/.test(e.name)) {
        const text = await Deno.readTextFile(path);
        if (/\.accuracy\b|\["accuracy"\]/.test(text)) found.push(path);
      }
    }
  };
  await walk("pipeline");
  const unexpected = found.filter((f) => !(f in ACCURACY_READERS));
  assert.deepEqual(unexpected, [], `read accuracy by name: ${unexpected.join(", ")}`);
  const stale = Object.keys(ACCURACY_READERS).filter((f) => !found.includes(f));
  assert.deepEqual(stale, [], `listed but no longer reading accuracy (drop them): ${stale.join(", ")}`);
});

Deno.test("results.json puts each part in the track of its task; extras by role; one role per track", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgeslim-task-" });
  try {
    const part = async (name: string, role: string, body: object) => {
      await Deno.mkdir(`${dir}/${name}`);
      await Deno.writeTextFile(`${dir}/${name}/results.part.json`, JSON.stringify(body));
      return { name, role, status: "done" as const, out: `${dir}/${name}` };
    };
    const options = {
      artifactsDir: dir,
      profile: "quick",
      pipelineFile: "p.yaml",
      pipelineSha256: "0",
      seed: 1,
    };
    const train = await part("train", "train", {
      task: "classification",
      rows: [{ variant: "a", technique: "baseline" }],
    });
    const bench = await part("bench", "bench", { task: "classification", rows: [], machine: { cpu: "x" } });
    const segTrain = await part("seg_train", "train", {
      task: "segmentation",
      rows: [{ variant: "u", technique: "baseline", dice: 0.5 }],
      history: { u: [] },
    });
    const results = await writeResults({ ...options, stages: [train, bench, segTrain] });
    assert.deepEqual(Object.keys(results.tracks), ["classification", "segmentation"]);
    assert.deepEqual(
      results.tracks.classification.extra,
      { bench: { machine: { cpu: "x" } } },
      "task is lifted, not kept per stage",
    );
    const seg = trackOf(results, "segmentation")!;
    assert.deepEqual(seg.extra, { train: { history: { u: [] } } }, "extra keyed by role, not by stage name");
    assert.deepEqual(seg.stage_names, { train: "seg_train" });
    assert.equal(seg.profile, "quick");
    assert.deepEqual(
      Deno.readTextFileSync(`${dir}/results.csv`).split("\n").slice(0, 3),
      ["task,variant,technique,dice", "classification,a,baseline,", "segmentation,u,baseline,0.5"],
    );
    const again = await part("train2", "train", { task: "segmentation" });
    await assert.rejects(
      writeResults({ ...options, stages: [segTrain, again] }),
      /Stages "seg_train" and "train2" both write the train part of the segmentation track/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

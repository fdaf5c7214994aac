import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { join } from "node:path";
import type { ResultsPart } from "../pipeline/core/types.ts";
import type { ResultRow } from "../pipeline/stages/parts.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import { latencyStats } from "../pipeline/bench/stats.ts";
import * as benchStage from "../pipeline/stages/bench.ts";
import * as exportStage from "../pipeline/stages/export.ts";
import * as fetchStage from "../pipeline/stages/fetch.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";
import { saveModel } from "../pipeline/models/io.ts";
import { randomizeBatchNorm } from "./_export_helpers.ts";
import { stageContext as context } from "./_stage_context.ts";

/** A fake train/compress out folder holding random-weight classifiers (non-trivial BN stats). */
async function fakeModels(base: string, stage: string, models: Record<string, [number, number, number]>) {
  const dir = await Deno.makeTempDir({ dir: base, prefix: `${stage}-` });
  const records: ResultsPart["models"] = {};
  for (const [name, channels] of Object.entries(models)) {
    const model = buildClassifier({ channels, dropout: 0 }, [16, 16, 3], 3);
    randomizeBatchNorm(model);
    await saveModel(model, join(dir, name));
    records[name] = { technique: stage === "train" ? "baseline" : "pruning", checkpoint: name } as never;
    model.dispose();
  }
  await Deno.writeTextFile(join(dir, "results.part.json"), JSON.stringify({ models: records }));
  return dir;
}

Deno.test("export + bench stages: every variant × format, rows with all fields, p50 ≤ p90", async () => {
  await initEngine();
  const base = await Deno.makeTempDir({ prefix: "edgeslim_bench_" });
  try {
    const fetch = context(
      "fetch",
      fetchStage.paramsSchema.parse({ source: "synthetic", size: 16, count_per_class: 20 }),
      base,
    );
    await fetchStage.run(fetch);
    const train = await fakeModels(base, "train", { teacher: [32, 64, 128], small: [8, 16, 32] });
    const compress = await fakeModels(base, "compress", { teacher_pruned_70: [9, 19, 38] });
    const exp = context("export", exportStage.paramsSchema.parse({ calibration: { images: 16 } }), base, {
      train,
      compress,
      fetch: fetch.outDir,
    });
    await exportStage.run(exp);
    const part = JSON.parse(await Deno.readTextFile(join(exp.outDir, "results.part.json"))) as ResultsPart;
    const exports = part.exports as Record<string, exportStage.ExportRecord>;
    assertEquals(Object.keys(exports).sort(), ["small", "teacher", "teacher_pruned_70"]);
    for (const [name, e] of Object.entries(exports)) {
      assertEquals(Object.keys(e.formats).sort(), [
        "onnx-fp16",
        "onnx-fp32",
        "onnx-int8",
        "tfjs",
        "tflite-fp16",
        "tflite-fp32",
        "tflite-int8",
      ]);
      assertEquals(Object.keys(e.int8_candidates).sort(), ["minmax", "percentile"]);
      assert(e.formats["onnx-fp32"]!.max_abs_diff_vs_tfjs! <= 1e-4, name);
      // TFLite runs here in LiteRT.js: fp32 as tfjs, and every format scored on the test images.
      const lite = e.formats["tflite-fp32"]!, lite8 = e.formats["tflite-int8"]!;
      console.log(
        `${name}: tflite fp32 max |Δ| ${lite.max_abs_diff_vs_tfjs!.toExponential(1)}, ` +
          `int8 ${lite8.size_bytes} B, accuracy ${lite8.accuracy} (fp32 ${lite.accuracy})`,
      );
      assert(lite.max_abs_diff_vs_tfjs! <= 1e-4 && typeof lite8.accuracy === "number", name);
      for (const f of Object.values(e.formats)) {
        assert(f.gzip_bytes > 0 && f.size_bytes > 0);
        await Deno.stat(join(exp.outDir, f.path));
      }
    }
    const t = exports.teacher.formats;
    assert(t["onnx-fp32"]!.size_bytes / t["onnx-int8"]!.size_bytes >= 3.5);

    const bench = context(
      "bench",
      benchStage.paramsSchema.parse({ warmup: 1, runs: 5, threads: [1, 2] }),
      base,
      {
        export: exp.outDir,
        fetch: fetch.outDir,
      },
    );
    await benchStage.run(bench);
    const out = JSON.parse(await Deno.readTextFile(join(bench.outDir, "results.part.json"))) as ResultsPart;
    const rows = out.rows as ResultRow[];
    assertEquals(rows.length, 3 * (1 + 3 * 2)); // tfjs once (1 thread), 3 ONNX formats × 2 thread counts
    const fields = [
      "variant",
      "technique",
      "params_total",
      "params_zero",
      "params_nonzero",
      "flops",
      "size_bytes",
    ]
      .concat([
        "accuracy",
        "latency_ms_mean",
        "latency_ms_p50",
        "latency_ms_p90",
        "latency_ms_std",
        "fps",
        "runtime",
      ])
      .concat(["format", "device", "threads", "predicted_speedup", "measured_speedup"]);
    for (const row of rows) {
      for (const f of fields) {
        assert(row[f as keyof ResultRow] !== undefined, `${row.variant} ${row.format}: ${f} missing`);
      }
      assert(row.latency_ms_p50! <= row.latency_ms_p90!);
      assertEquals(row.device, "local");
    }
    assertEquals(
      [...new Set(rows.map((r) => r.runtime))].sort(),
      ["onnxruntime-node 1.30.0 cpu", "tfjs-wasm 4.22.0"],
    );
    const teacher = rows.filter((r) => r.variant === "teacher");
    assert(teacher.every((r) => r.predicted_speedup === 1 && r.measured_speedup === 1));
    const small = rows.find((r) => r.variant === "small" && r.format === "onnx-fp32")!;
    assert(Math.abs(small.predicted_speedup as number - exports.teacher.flops / exports.small.flops) < 1e-9);
    const machine = out.machine as { cpu: string; cores: number; ram_bytes: number; os: string };
    assert(machine.cpu.length > 0 && machine.cores >= 1 && machine.ram_bytes > 0 && machine.os.length > 0);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("bench: latency statistics (percentiles interpolate, sample std)", () => {
  const s = latencyStats([4, 1, 3, 2, 10]);
  assertEquals([s.latency_ms_mean, s.latency_ms_p50, s.fps], [4, 3, 250]);
  assert(Math.abs(s.latency_ms_p90 - 7.6) < 1e-12);
  assert(Math.abs(s.latency_ms_std - Math.sqrt(12.5)) < 1e-12);
});

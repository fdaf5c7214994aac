/**
 * The bench stage on the segmentation track: rows per U-Net × format × threads carry the Dice
 * measured through each runtime (equal to the export stage's for the same ONNX file and images)
 * and the latency figures; and the device runner (pipeline/bench/remote_runner.mjs, run here
 * under Node.js and Deno inside a bundle, as on a board) scores segmentation with the same numbers
 * as the task, a half-resolution U-Net's probabilities resized back up first.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { resolve } from "node:path";
import { join } from "node:path";
import { buildBundle } from "../pipeline/bench/bundle.ts";
import type { RunnerOutput } from "../pipeline/bench/devices.ts";
import { deviceSchema } from "../pipeline/bench/devices.ts";
import { loadDataset } from "../pipeline/data/dataset.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import * as benchStage from "../pipeline/stages/bench.ts";
import * as exportStage from "../pipeline/stages/export.ts";
import { segmentation } from "../pipeline/tasks/mod.ts";
import { SEG_MODELS, segDataset, segTrain } from "./_seg_fixture.ts";
import { stageContext as context, withTemp } from "./_stage_context.ts";

await initEngine();
const VARIANTS = Object.keys(SEG_MODELS).sort();

/** fixture → export (tfjs, ONNX fp32 and int8) → bench (1 and 2 threads). */
async function exportAndBench(base: string) {
  const fetch = await segDataset(base), train = await segTrain(base);
  const exp = context(
    "seg_export",
    exportStage.paramsSchema.parse({
      formats: ["tfjs", "onnx-fp32", "onnx-int8"],
      parity_images: 2,
      calibration: { images: 8, methods: ["minmax"] },
    }),
    base,
    { train, fetch },
  );
  await exportStage.run(exp);
  const bench = context(
    "seg_bench",
    benchStage.paramsSchema.parse({
      warmup: 1,
      runs: 5,
      threads: [1, 2],
      formats: ["tfjs", "onnx-fp32", "onnx-int8"],
      reference: "unet_standard",
    }),
    base,
    { export: exp.outDir, fetch },
  );
  await benchStage.run(bench);
  const read = async (dir: string) => JSON.parse(await Deno.readTextFile(join(dir, "results.part.json")));
  return {
    exports: (await read(exp.outDir) as exportStage.ExportPart).exports,
    part: await read(bench.outDir) as benchStage.BenchPart,
    exportDir: exp.outDir,
    fetch,
  };
}

Deno.test("seg bench: rows carry Dice and latency per runtime; the device runner scores segmentation", async () => {
  await withTemp(async (base) => {
    const { exports, part, exportDir, fetch } = await exportAndBench(base);
    assertEquals(part.task, "segmentation");
    const rows = part.rows;
    assertEquals(rows.length, VARIANTS.length * (1 + 2 * 2)); // tfjs once, 2 ONNX formats × 2 thread counts
    for (const r of rows) {
      console.log(
        `  ${r.variant} ${r.format} ×${r.threads}: dice ${r.dice?.toFixed(6)}, p50 ${
          r.latency_ms_p50.toFixed(3)
        } ms, ` +
          `${r.fps.toFixed(0)} fps (${r.runtime})`,
      );
      assert(
        typeof r.dice === "number" && r.dice > 0 && r.dice < 1 && r.accuracy === undefined,
        JSON.stringify(r),
      );
      assert(r.fps > 0 && r.latency_ms_p50 <= r.latency_ms_p90! && r.latency_ms_std! >= 0);
      assertEquals([r.device, r.batch, r.measured_speedup !== undefined], ["local", 1, true]);
      // The same ONNX file on the same images through the same runtime: the export stage's Dice.
      if (r.format !== "tfjs") {
        assertEquals(r.dice, exports[r.variant].formats[r.format as "onnx-fp32"]!.dice);
      }
    }
    // tfjs scores the same test images: its Dice is ONNX fp32's (no pixel crosses 0.5 between the two).
    for (const v of VARIANTS) {
      const [tfjs, onnx] = ["tfjs", "onnx-fp32"].map((f) =>
        rows.find((r) => r.variant === v && r.format === f)!
      );
      assertEquals(tfjs.dice, onnx.dice);
    }
    assert(rows.filter((r) => r.variant === "unet_standard").every((r) => r.measured_speedup === 1));

    // The device runner, in a bundle, under Node.js and Deno: same metrics as the export stage.
    const data = await loadDataset(fetch);
    const bundle = await buildBundle(base, {
      exportDir,
      exports,
      task: segmentation(),
      formats: ["onnx-fp32", "onnx-int8"],
      threads: [1],
      warmup: 1,
      runs: 3,
      layout: "NHWC",
      data,
      images: 200,
      trtexec: false,
    });
    const device = deviceSchema.parse({ name: "board", ssh: "board" });
    for (const cmd of [["node", "runner.mjs"], [Deno.execPath(), "run", "-A", "runner.mjs"]]) {
      const out = await new Deno.Command(cmd[0], {
        args: [...cmd.slice(1), resolve("node_modules")],
        cwd: bundle.dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const output = JSON.parse(
        new TextDecoder().decode(out.stdout).trim().split("\n").pop()!,
      ) as RunnerOutput;
      assertEquals(output.results.length, VARIANTS.length * 2);
      for (const r of output.results) {
        const want = exports[r.variant].formats[r.format as "onnx-fp32"]!;
        console.log(
          `  runner (${output.device.runtime}) ${r.variant} ${r.format}: ${JSON.stringify(r.metrics)}`,
        );
        assertEquals(r.metrics, want.test_metrics, `${r.variant} ${r.format}`);
        assertEquals(r.loss, want.test_loss);
      }
      const deviceRows = benchStage.deviceRows(
        device,
        { name: "board", status: "done", seconds: 1, measured_at: "", output },
        exports,
        { warmup: 1, runs: 3 },
        segmentation(),
      );
      assert(deviceRows.every((r) => r.dice === exports[r.variant].formats[r.format as "onnx-fp32"]!.dice));
      assertEquals(deviceRows.map((r) => r.device), Array(VARIANTS.length * 2).fill("board"));
    }
  });
});

const TORCH =
  (await new Deno.Command("/usr/bin/python3", { args: ["-c", "import torch"], stderr: "null" }).output()
    .catch(() => ({ success: false }))).success;
if (!TORCH && Deno.env.get("CI") !== "true") {
  console.warn(
    "bench_segmentation_test: no python3-torch: skipping bench:infer --torch (apt-get install python3-torch)",
  );
}

Deno.test({
  name: "bench:infer --torch: PyTorch's torch.onnx export of both U-Nets, our weights, same outputs, a ratio",
  ignore: !TORCH && Deno.env.get("CI") !== "true",
  async fn() {
    assert(TORCH, "CI=true but python3-torch is missing: apt-get install python3-torch");
    for (const model of ["unet_standard", "unet_depthwise"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "pipeline/bench/bench_infer.ts", "--model", model, "--size", "32", "--runs", "3"]
          .concat(["--warmup", "1", "--threads", "1", "--torch"]),
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert(out.success, text + new TextDecoder().decode(out.stderr));
      const summary = JSON.parse(text.trim().split("\n").pop()!);
      console.log(
        `  ${model} 32×32: ${JSON.stringify(summary.rows.map((r: { format: string }) => r.format))}`,
      );
      // Every weight copied into PyTorch's module (torch_onnx.py checks the count): the same outputs.
      assert(summary.max_abs_diff_vs_torch_onnx <= 1e-4, JSON.stringify(summary));
      assert(summary.ratio_vs_torch_onnx_1t > 0, JSON.stringify(summary));
      assert(summary.rows.some((r: { format: string }) => r.format.startsWith("onnx-fp32 (torch.onnx")));
    }
  },
});

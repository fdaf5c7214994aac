/**
 * Every kind of exported file passes `onnx.checker.check_model(path, full_check=True)`.
 * Needs python3 with the onnx module (Debian: `apt-get install -y python3-onnx`). Without it the
 * test is skipped on a developer's machine, saying so, and fails when CI=true.
 */
import { ok as assert } from "node:assert";
import { join } from "node:path";
import { initEngine } from "../pipeline/engine/mod.ts";
import { tfjsToOnnx } from "../pipeline/export/onnx_graph.ts";
import { encodeModel } from "../pipeline/export/onnx_model.ts";
import { activationTargets, calibrate, quantizeQdq, toFloat16 } from "../pipeline/export/quantize.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";
import { randomImages, randomizeBatchNorm, tinyUnet } from "./_export_helpers.ts";

/** Debian's python first (a pyenv python3 on PATH may lack python3-onnx). */
async function findPython(): Promise<string | undefined> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const { success } = await new Deno.Command(python, { args: ["-c", "import onnx"], stderr: "null" })
        .output();
      if (success) return python;
    } catch {
      // not installed
    }
  }
  return undefined;
}

const python = await findPython();
const CI = Deno.env.get("CI") === "true";
if (!python && !CI) {
  console.warn(
    "export_checker_test: SKIPPED, no python3 with the onnx module (apt-get install -y python3-onnx)",
  );
}

Deno.test({
  name: "export: fp32, fp16, int8 and U-Net files pass the ONNX checker (full_check)",
  ignore: !python && !CI,
  async fn() {
    assert(python, "CI=true but no python3 with the onnx module: apt-get install -y python3-onnx");
    await initEngine();
    const dir = await Deno.makeTempDir({ prefix: "edgeslim_checker_" });
    try {
      const model = buildClassifier({ channels: [9, 19, 38], dropout: 0.2 }, [16, 16, 3], 4);
      randomizeBatchNorm(model);
      const graph = tfjsToOnnx(model, { metadata: { preprocessing: "RGB /255" } });
      const targets = activationTargets(graph);
      const ranges = await calibrate(graph, targets, randomImages(8, 16), 8, [16, 16, 3], {
        method: "percentile",
      });
      const unet = tinyUnet(16);
      const files: Record<string, Uint8Array> = {
        "fp32.onnx": encodeModel(graph),
        "fp16.onnx": encodeModel(toFloat16(graph)),
        "int8.onnx": encodeModel(quantizeQdq(graph, ranges)),
        "int8_s8.onnx": encodeModel(quantizeQdq(graph, ranges, { activations: "int8" })),
        "nchw.onnx": encodeModel(tfjsToOnnx(model, { layout: "nchw", probs: false })),
        "unet.onnx": encodeModel(tfjsToOnnx(unet)),
        "unet_fp16.onnx": encodeModel(toFloat16(tfjsToOnnx(unet))),
      };
      for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(join(dir, name), bytes);
      const script =
        "import onnx, sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(p, full_check=True)\n" +
        "    print('ok', p.rsplit('/', 1)[-1])";
      const paths = Object.keys(files).map((f) => join(dir, f));
      const out = await new Deno.Command(python!, { args: ["-c", script, ...paths] }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      console.log(text.trim());
      assert(out.success, `onnx.checker failed:\n${text}`);
      model.dispose();
      unet.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

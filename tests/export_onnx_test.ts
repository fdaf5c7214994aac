import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs";
import { initEngine } from "../pipeline/engine/mod.ts";
import { agreement, argmaxRows, maxAbsDiff, onnxOutputs, tfjsOutputs } from "../pipeline/export/evaluate.ts";
import { tfjsToOnnx } from "../pipeline/export/onnx_graph.ts";
import { decodeMetadata, decodeOps, encodeModel } from "../pipeline/export/onnx_model.ts";
import { createSession, runBatch } from "../pipeline/export/ort.ts";
import { f32ToF16, toFloat16 } from "../pipeline/export/quantize.ts";
import { buildClassifier, type ClassifierSpec } from "../pipeline/models/classifier.ts";
import { randomImages, randomizeBatchNorm, tinyUnet } from "./_export_helpers.ts";

await initEngine();
const SIZE = 16, N = 8;

/** Max |onnxruntime − tfjs| of the first output for `model` exported with `layout`. */
async function parity(model: tf.LayersModel, layout: "nhwc" | "nchw", half = false) {
  const graph = tfjsToOnnx(model, { layout });
  const bytes = encodeModel(half ? toFloat16(graph) : graph);
  const x = randomImages(N, SIZE);
  const session = await createSession(bytes);
  const got = await onnxOutputs(session, x, N, SIZE, layout === "nhwc" ? "NHWC" : "NCHW");
  await session.release();
  return { diff: maxAbsDiff(got, tfjsOutputs(model, x, N, SIZE)), bytes, graph };
}

const FAMILY: Record<string, ClassifierSpec> = {
  teacher: { channels: [32, 64, 128], dropout: 0.2 },
  small: { channels: [8, 16, 32], dropout: 0 },
  pruned_70: { channels: [9, 19, 38], dropout: 0 }, // odd counts as channel pruning leaves them
};

for (const [name, spec] of Object.entries(FAMILY)) {
  Deno.test(`export: ${name} classifier fp32 ≤ 1e-4 (NHWC and NCHW input), fp16 ≤ 1e-2`, async () => {
    const model = buildClassifier(spec, [SIZE, SIZE, 3], 5);
    randomizeBatchNorm(model);
    for (const layout of ["nhwc", "nchw"] as const) {
      const { diff, bytes } = await parity(model, layout);
      console.log(`${name} ${layout} fp32 max |Δ| ${diff.toExponential(2)}`);
      assert(diff <= 1e-4, `${name} ${layout}: ${diff}`);
      const ops = decodeOps(bytes);
      assert(!ops.includes("BatchNormalization"), "batch norm is folded into the convs");
      assertEquals(ops.filter((o) => o === "Conv").length, 3);
    }
    const half = await parity(model, "nhwc", true);
    console.log(`${name} fp16 max |Δ| ${half.diff.toExponential(2)}`);
    assert(half.diff <= 1e-2, `${name} fp16: ${half.diff}`);
    model.dispose();
  });
}

Deno.test("export: U-Net layer kinds (separable, depthwise, BN, transposed conv, concat, sigmoid)", async () => {
  const model = tinyUnet(SIZE);
  randomizeBatchNorm(model);
  for (const layout of ["nhwc", "nchw"] as const) {
    const { diff, bytes } = await parity(model, layout);
    console.log(`tiny U-Net ${layout} fp32 max |Δ| ${diff.toExponential(2)}`);
    assert(diff <= 1e-4, `U-Net ${layout}: ${diff}`);
    const ops = decodeOps(bytes);
    for (const op of ["ConvTranspose", "Concat", "Sigmoid", "BatchNormalization", "MaxPool"]) {
      assert(ops.includes(op), `${op} in ${ops}`);
    }
    assertEquals(ops.filter((o) => o === "BatchNormalization").length, 1); // the one after ReLU
  }
  const fp16 = await parity(model, "nhwc", true);
  assert(fp16.diff <= 1e-2, `U-Net fp16: ${fp16.diff}`);
  model.dispose();
});

Deno.test("export: bilinear and nearest up-sampling U-Nets (Resize) match tfjs", async () => {
  const { buildUNet } = await import("../pipeline/models/unet.ts");
  for (const up of ["bilinear", "nearest"] as const) {
    const model = buildUNet({ filters: [4, 8], conv: "standard", up }, [SIZE, SIZE, 3], 3);
    const { diff, bytes } = await parity(model, "nhwc");
    console.log(`U-Net ${up} up-sampling fp32 max |Δ| ${diff.toExponential(2)}`);
    assert(diff <= 1e-4 && decodeOps(bytes).includes("Resize"), `${up}: ${diff}`);
    model.dispose();
  }
});

Deno.test("export: outputs logits + probs, metadata_props carry layout and preprocessing", async () => {
  const model = buildClassifier(FAMILY.small, [SIZE, SIZE, 3], 1);
  const graph = tfjsToOnnx(model, { metadata: { preprocessing: "RGB, pixel / 255" } });
  const bytes = encodeModel(graph);
  const meta = decodeMetadata(bytes);
  assertEquals([meta.input_layout, meta.input_shape, meta.outputs], [
    "NHWC",
    `["N",16,16,3]`,
    "logits,probs",
  ]);
  assertEquals(meta.preprocessing, "RGB, pixel / 255");
  const session = await createSession(bytes);
  const out = await runBatch(session, randomImages(2, SIZE), [2, SIZE, SIZE, 3]);
  const sums = [out.probs[0] + out.probs[1], out.probs[2] + out.probs[3]];
  assert(sums.every((s) => Math.abs(s - 1) < 1e-6));
  assertEquals(argmaxRows(out.probs, 2), argmaxRows(out.logits, 2));
  assertEquals(agreement([1, 2], [1, 3]), 0.5);
  await session.release();
  model.dispose();
});

Deno.test("export: float16 conversion rounds to nearest even", () => {
  assertEquals([1, 0.5, -2, 65504, 1e6, 0].map(f32ToF16), [0x3c00, 0x3800, 0xc000, 0x7bff, 0x7c00, 0]);
  assertEquals(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even
  assertEquals(f32ToF16(2 ** -24), 0x0001); // smallest subnormal
});

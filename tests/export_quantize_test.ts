import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import onnxProto from "onnx-proto";
import { initEngine } from "../pipeline/engine/mod.ts";
import { agreement, argmaxRows, maxAbsDiff, onnxOutputs } from "../pipeline/export/evaluate.ts";
import { tfjsToOnnx } from "../pipeline/export/onnx_graph.ts";
import { decodeOps, encodeModel } from "../pipeline/export/onnx_model.ts";
import { createSession } from "../pipeline/export/ort.ts";
import { activationParams, activationTargets, calibrate, quantizeQdq } from "../pipeline/export/quantize.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";
import { randomImages, randomizeBatchNorm } from "./_export_helpers.ts";

const { onnx } = onnxProto;
await initEngine();
const SIZE = 16, N = 64;

Deno.test("int8 QDQ: per-channel weights, ≥ 3.4× smaller, agrees with fp32 (MinMax and percentile)", async () => {
  const model = buildClassifier({ channels: [32, 64, 128], dropout: 0 }, [SIZE, SIZE, 3], 2);
  randomizeBatchNorm(model);
  const graph = tfjsToOnnx(model);
  const fp32 = encodeModel(graph);
  const calib = randomImages(N, SIZE, 21), test = randomImages(N, SIZE, 22);
  const session = await createSession(fp32);
  const ref = await onnxOutputs(session, test, N, SIZE, "NHWC");
  await session.release();
  const spread = Math.max(...ref) - Math.min(...ref);
  const targets = activationTargets(graph);
  // Conv inputs and outputs; the Gemm (and so `gap`) stays float: it gains nothing in int8.
  assertEquals(targets, ["input_nchw", "relu1", "pool1", "relu2", "pool2", "relu3"]);
  for (const method of ["minmax", "percentile"] as const) {
    const ranges = await calibrate(graph, targets, calib, N, [SIZE, SIZE, 3], { method, percentile: 99.9 });
    const bytes = encodeModel(quantizeQdq(graph, ranges));
    const ops = decodeOps(bytes);
    // conv1 reads the image and stays float (imageConvs): input_nchw and relu1 get no QDQ.
    assertEquals(ops.filter((o) => o === "QuantizeLinear").length, targets.length - 2);
    assert(ops.filter((o) => o === "DequantizeLinear").length >= targets.length - 2 + 2 * 2);
    const m = onnx.ModelProto.decode(bytes);
    const inits = m.graph?.initializer ?? [];
    const w = inits.find((t) => t.name === "conv2.weight.int8");
    const s = inits.find((t) => t.name === "conv2.weight.scale");
    assertEquals([w?.dataType, (s?.dims ?? []).map(Number)], [onnx.TensorProto.DataType.INT8, [64]]);
    const dq = (m.graph?.node ?? []).find((n) => n.name === "conv2.weight/dequantize");
    assertEquals((dq?.attribute ?? []).map((a) => [a.name, Number(a.i)]), [["axis", 0]]);
    // After the float conv1 + MaxPool: one scale repeated per channel, so onnxruntime keeps the pool in float.
    const q1 = (m.graph?.node ?? []).find((n) => n.name === "pool1/quantize");
    assertEquals([q1?.input?.[1], (q1?.attribute ?? []).map((a) => [a.name, Number(a.i)])], [
      "pool1.scale_c",
      [["axis", 1]],
    ]);
    assert(!inits.some((t) => t.name === "conv1.weight.int8"));
    const q = await createSession(bytes);
    const got = await onnxOutputs(q, test, N, SIZE, "NHWC");
    await q.release();
    const agree = agreement(argmaxRows(got, 2), argmaxRows(ref, 2));
    const rel = maxAbsDiff(got, ref) / spread;
    console.log(
      `${method}: ${fp32.length} → ${bytes.length} bytes (${(fp32.length / bytes.length).toFixed(2)}×), ` +
        `top-1 agreement ${agree}, max |Δ| / logit spread ${rel.toFixed(4)}`,
    );
    assert(fp32.length / bytes.length >= 3.4); // the float Gemm keeps 129 floats
    assert(agree >= 0.9, `${method} agreement ${agree}`);
    assert(rel <= 0.1, `${method} relative error ${rel}`);
  }
  model.dispose();
});

Deno.test("int8: activation parameters put 0 on an integer code and cover the range", () => {
  assertEquals(activationParams({ min: 0, max: 2.55 }, "uint8"), { scale: 2.55 / 255, zeroPoint: 0 });
  const { scale, zeroPoint } = activationParams({ min: -1, max: 3 }, "int8");
  assert(Math.abs(scale - 4 / 255) < 1e-12 && zeroPoint === -64);
  assert(activationParams({ min: 0, max: 0 }, "uint8").scale === 1);
});

/**
 * TFLite export parity. Each model (small classifier, depthwise and standard U-Nets, and a tiny
 * U-Net with every other layer kind) is exported fp32, fp16 weights and int8, then run by:
 * - our float reference of the graph (tfjs ops): the graph itself, before any byte is written;
 * - LiteRT.js (TensorFlow Lite's runtime in wasm, from npm): the runtime Raspberry Pi users have;
 * - Arm NN's TfLiteParser (Debian python3-pyarmnn, CpuRef): an independent reader. Skipped with a
 *   message when missing, a failure under CI=true.
 * Bars: fp32 ≤ 1e-4 max |Δ| vs tfjs; fp16 ≤ 1e-2 (float16 keeps 11 significant bits, a relative
 * 2.4e-4 per weight, and the error adds up over ~10 layers of sums of up to 288 products);
 * int8: classifier top-1 agreement with tfjs ≥ 0.95 on 32 images, U-Net Dice between the int8
 * and tfjs masks (p > 0.5) ≥ 0.95.
 */
import { ok as assert } from "node:assert";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as flatbuffers from "flatbuffers";
import { generateFace } from "../pipeline/data/synthetic.ts";
import { initEngine } from "../pipeline/engine/mod.ts";
import { agreement, argmaxRows, maxAbsDiff, tfjsOutputs } from "../pipeline/export/evaluate.ts";
import {
  armnnAvailable,
  exportTflite,
  runArmnn,
  runLiteRt,
  runReference,
  tfjsToTflite,
  TFLITE_FORMATS,
  type TfliteFormat,
} from "../pipeline/export/tflite/mod.ts";
import { Model } from "../pipeline/export/tflite/schema/schema_generated.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";
import { buildUNet, UNETS } from "../pipeline/models/unet.ts";
import { randomizeBatchNorm, tinyUnet } from "./_export_helpers.ts";

await initEngine();
const SIZE = 32, N = 32, CAL = 16;
const FP32_TOL = 1e-4, FP16_TOL = 1e-2, INT8_BAR = 0.95;

/** Synthetic faces (the data set's generator), NHWC floats in [0, 1]. */
function faces(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * SIZE * SIZE * 3);
  for (let i = 0; i < n; i++) {
    out.set(
      Float32Array.from(generateFace(seed + i, i % 2 === 0, SIZE), (v) => v / 255),
      i * SIZE * SIZE * 3,
    );
  }
  return out;
}
const TEST = faces(N, 1000), CALIBRATION = faces(CAL, 5000);

/**
 * Random weights give outputs bunched at one value, which makes int8 bars meaningless (every
 * image one class, every pixel p ≈ 0.5). Rescale the last layer so its outputs on the test images
 * spread like a trained model's: centred (half each class, half the pixels in the mask) with a
 * standard deviation of 3 logits.
 */
function spreadLastLayer(model: tf.LayersModel, sigmoid: boolean): void {
  const y = tfjsOutputs(model, TEST, N, SIZE);
  const z = sigmoid
    ? Float64Array.from(y, (p) => Math.log(p / (1 - p)))
    : Float64Array.from({ length: N }, (_, i) => y[2 * i] - y[2 * i + 1]);
  const mean = z.reduce((a, b) => a + b, 0) / z.length;
  const std = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
  const last = model.layers.findLast((l) => l.getWeights().length === 2)!;
  const [kernel, bias] = last.getWeights();
  const k = 3 / std;
  last.setWeights(tf.tidy(() => [
    tf.mul(kernel, k),
    sigmoid ? tf.mul(tf.sub(bias, mean), k) : tf.mul(tf.sub(bias, tf.tensor1d([mean / 2, -mean / 2])), k),
  ]));
}

interface Case {
  model: tf.LayersModel;
  kind: "classifier" | "unet";
}

function cases(): Record<string, Case> {
  const classifier = buildClassifier({ channels: [8, 16, 32], dropout: 0.1 }, [SIZE, SIZE, 3], 5);
  randomizeBatchNorm(classifier);
  const tiny = tinyUnet(SIZE);
  randomizeBatchNorm(tiny);
  const all: Record<string, Case> = {
    classifier: { model: classifier, kind: "classifier" },
    unet_depthwise: {
      model: buildUNet({ filters: [8, 16, 32], conv: "separable" }, [SIZE, SIZE, 3], 7),
      kind: "unet",
    },
    unet_standard: {
      model: buildUNet({ filters: [8, 16, 32], conv: "standard" }, [SIZE, SIZE, 3], 7),
      kind: "unet",
    },
    tiny_unet: { model: tiny, kind: "unet" },
  };
  for (const c of Object.values(all)) spreadLastLayer(c.model, c.kind === "unet");
  return all;
}
const CASES = cases();

function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let both = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0.5, y = b[i] > 0.5;
    if (x && y) both++;
    if (x) na++;
    if (y) nb++;
  }
  return na + nb === 0 ? 1 : (2 * both) / (na + nb);
}

/** int8 score: top-1 agreement (classifier) or mask Dice (U-Net) against tfjs. */
function int8Score(c: Case, got: Float32Array, want: Float32Array): number {
  return c.kind === "classifier" ? agreement(argmaxRows(got, 2), argmaxRows(want, 2)) : dice(got, want);
}

function exportAll(c: Case): Record<TfliteFormat, Uint8Array> {
  const calibration = { images: CALIBRATION, count: CAL };
  return Object.fromEntries(
    TFLITE_FORMATS.map((f) => [f, exportTflite(c.model, f, { calibration }).bytes]),
  ) as Record<TfliteFormat, Uint8Array>;
}

/** Check one runtime's first output for one file against tfjs, and print the figures. */
function check(
  name: string,
  runtime: string,
  format: TfliteFormat,
  c: Case,
  got: Float32Array,
  label: string = format,
) {
  const want = tfjsOutputs(c.model, TEST, N, SIZE);
  const diff = maxAbsDiff(got, want);
  if (format === "tflite-int8") {
    const score = int8Score(c, got, want);
    const what = c.kind === "classifier" ? "top-1 agreement" : "Dice";
    console.log(
      `${name} ${runtime} ${label}: ${what} ${score.toFixed(4)}, max |Δ| ${diff.toExponential(2)}`,
    );
    assert(score >= INT8_BAR, `${name} ${runtime} ${label}: ${what} ${score} < ${INT8_BAR}`);
  } else {
    const tol = format === "tflite-fp32" ? FP32_TOL : FP16_TOL;
    console.log(`${name} ${runtime} ${format}: max |Δ| vs tfjs ${diff.toExponential(2)} (≤ ${tol})`);
    assert(diff <= tol, `${name} ${runtime} ${format}: max |Δ| ${diff} > ${tol}`);
  }
}

Deno.test("tflite: the float graph (run with tfjs ops) matches tfjs ≤ 1e-5", () => {
  for (const [name, c] of Object.entries(CASES)) {
    const graph = tfjsToTflite(c.model);
    const diff = maxAbsDiff(runReference(graph, TEST, N)[0], tfjsOutputs(c.model, TEST, N, SIZE));
    console.log(
      `${name}: ${graph.ops.length} ops (${
        [...new Set(graph.ops.map((o) => o.op))].join(", ")
      }), reference max |Δ| ${diff.toExponential(2)}`,
    );
    assert(diff <= 1e-5, `${name}: ${diff}`);
  }
});

Deno.test("tflite: the file reads back through our bindings (identifier, ops, aligned buffers)", () => {
  const { bytes, graph } = exportTflite(CASES.classifier.model, "tflite-int8", {
    calibration: { images: CALIBRATION, count: CAL },
  });
  const m = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
  assert(Model.bufferHasIdentifier(new flatbuffers.ByteBuffer(bytes)), 'file identifier is not "TFL3"');
  assert(m.version() === 3 && m.subgraphsLength() === 1);
  const sg = m.subgraphs(0)!;
  assert(sg.operatorsLength() === graph.ops.length && sg.tensorsLength() === graph.tensors.length);
  assert(m.buffers(0)!.dataLength() === 0, "buffer 0 must be the empty sentinel");
  for (let i = 1; i < m.buffersLength(); i++) {
    const b = m.buffers(i)!;
    assert(b.dataArray()!.byteOffset % 16 === 0, `buffer ${i} is not 16-byte aligned`);
  }
  const metadata = JSON.parse(new TextDecoder().decode(m.buffers(m.metadata(0)!.buffer())!.dataArray()!));
  assert(metadata.format === "tflite-int8" && metadata.outputs === "logits,probs");
});

Deno.test("tflite: the reference's depthwise U-Net (380,764 params) takes ≈ 4, 2, 1 bytes a weight", () => {
  const model = buildUNet(UNETS.unet_depthwise, [128, 128, 3], 42);
  const calibration = { images: new Float32Array(128 * 128 * 3).fill(0.5), count: 1 };
  const size = Object.fromEntries(
    TFLITE_FORMATS.map((f) => [f, exportTflite(model, f, { calibration }).bytes.length]),
  ) as Record<TfliteFormat, number>;
  const params = model.countParams();
  console.log(`unet_depthwise 128×128: ${JSON.stringify(size)} bytes for ${params} params`);
  for (const [f, perWeight] of [["tflite-fp32", 4], ["tflite-fp16", 2], ["tflite-int8", 1]] as const) {
    const ratio = size[f] / (params * perWeight);
    // int8 also stores int32 biases and, per output channel, a float32 scale and an int64 zero point.
    const most = f === "tflite-int8" ? 1.3 : 1.05;
    assert(ratio > 1 && ratio < most, `${f}: ${size[f]} bytes = ${ratio.toFixed(3)}× ${perWeight} B/param`);
  }
  model.dispose();
});

for (const [name, c] of Object.entries(CASES)) {
  Deno.test(`tflite: ${name} in LiteRT.js: fp32 ≤ 1e-4, fp16 ≤ 1e-2, int8 ≥ 0.95`, async () => {
    const files = exportAll(c);
    for (const f of TFLITE_FORMATS) check(name, "LiteRT.js", f, c, (await runLiteRt(files[f], TEST, N))[0]);
  });

  Deno.test(`tflite: ${name} in Arm NN (TfLiteParser, CpuRef): fp32 ≤ 1e-4, int8 ≥ 0.95`, async (t) => {
    if (!(await armnnAvailable())) {
      const msg = "python3-pyarmnn is not installed (apt-get install -y python3-pyarmnn)";
      if (Deno.env.get("CI") === "true") throw new Error(`tflite Arm NN parity: ${msg}`);
      console.log(`SKIP Arm NN parity: ${msg}`);
      return;
    }
    const dir = await Deno.makeTempDir({ prefix: "tflite_test_" });
    try {
      const files = exportAll(c);
      const int8Io = exportTflite(c.model, "tflite-int8", {
        calibration: { images: CALIBRATION, count: CAL },
        io: "int8",
      });
      for (const [f, bytes] of [...Object.entries(files), ["tflite-int8 (int8 io)", int8Io.bytes]] as const) {
        const path = join(dir, `${name}.${f.replaceAll(/\W+/g, "_")}.tflite`);
        await Deno.writeFile(path, bytes);
        if (f === "tflite-fp16") {
          // Arm NN 20.08 needs weights in constant buffers; fp16 weights come out of DEQUANTIZE ops.
          try {
            check(name, "Arm NN", f, c, (await runArmnn(path, TEST, N)).outputs[0]);
          } catch (error) {
            if (!/has 0 bytes/.test((error as Error).message)) throw error;
            console.log(
              `${name} Arm NN ${f}: not run (this Arm NN reads weights only from constant buffers)`,
            );
          }
          continue;
        }
        const format = f.startsWith("tflite-int8") ? "tflite-int8" : f as TfliteFormat;
        await t.step(
          f,
          async () => check(name, "Arm NN", format, c, (await runArmnn(path, TEST, N)).outputs[0], f),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * x86 u8s8 saturation: onnxruntime's AVX2 / AVX-512 (no VNNI) int8 kernels add u8 × s8 pairs
 * into a saturating int16 (`vpmaddubsw`). This machine may have VNNI and never show it, so the
 * JS reference (pipeline/export/int8_reference.ts) computes every pair sum, counts those outside
 * int16 and can clamp them as those kernels do. Pairing assumed: K in (kh, kw, input channel)
 * order, adjacent pairs (MLAS's ConvSym and im2col + QGEMM packing).
 *
 * The same count on a pipeline run's real models is a benchmark: `deno task bench:int8`.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { initEngine } from "../pipeline/engine/mod.ts";
import { agreement, argmaxRows, maxAbsDiff, onnxOutputs } from "../pipeline/export/evaluate.ts";
import { INT16_MAX, pairBound, runReference } from "../pipeline/export/int8_reference.ts";
import { tfjsToOnnx } from "../pipeline/export/onnx_graph.ts";
import { encodeModel, type OnnxGraph } from "../pipeline/export/onnx_model.ts";
import { createSession } from "../pipeline/export/ort.ts";
import { activationTargets, calibrate, type QdqOptions, quantizeQdq } from "../pipeline/export/quantize.ts";
import { buildClassifier } from "../pipeline/models/classifier.ts";
import { randomImages, randomizeBatchNorm } from "./_export_helpers.ts";

await initEngine();

/**
 * The scheme before the fix (every Conv and the Gemm in int8, 8-bit weights, 8-bit image codes)
 * and the shipped one (the defaults: the image conv and the Gemm float, 7-bit weights).
 */
const SCHEMES: Record<string, QdqOptions> = {
  "before (all int8, 8-bit w)": { weightBits: 8, inputBits: 8, keepFloat: [], ops: ["Conv", "Gemm"] },
  "shipped (image conv float, 7-bit w)": {},
  "7-bit image codes, 8-bit w on the image conv, 7-bit w": { keepFloat: [], inputBits: 7 },
};

const maxBound = (g: OnnxGraph) => Math.max(...pairBound(g).map((b) => b.anyPairing));

Deno.test("int8 reference: exact mode = onnxruntime here; shipped scheme has no pair outside int16", async () => {
  const SIZE = 16, N = 32;
  const model = buildClassifier({ channels: [16, 32, 64], dropout: 0 }, [SIZE, SIZE, 3], 2);
  randomizeBatchNorm(model);
  const graph = tfjsToOnnx(model);
  model.dispose();
  const calib = randomImages(N, SIZE, 31), test = randomImages(N, SIZE, 32);
  const ranges = await calibrate(graph, activationTargets(graph), calib, N, [SIZE, SIZE, 3], {
    method: "minmax",
  });
  for (const [name, options] of Object.entries(SCHEMES)) {
    const q = quantizeQdq(graph, ranges, options);
    const bytes = encodeModel(q);
    const session = await createSession(bytes);
    const ort = await onnxOutputs(session, test, N, SIZE, "NHWC");
    await session.release();
    const fakeSession = await createSession(bytes, { optimization: "disabled" });
    const fake = await onnxOutputs(fakeSession, test, N, SIZE, "NHWC");
    await fakeSession.release();
    const exact = runReference(q, test, N, [SIZE, SIZE, 3]);
    const avx2 = runReference(q, test, N, [SIZE, SIZE, 3], { accumulate: "avx2-u8s8" });
    const clipped = exact.stats.map((s) => s.clipped);
    const spread = Math.max(...exact.outputs.logits) - Math.min(...exact.outputs.logits);
    const dOrt = maxAbsDiff(ort, exact.outputs.logits) / spread;
    const dFake = maxAbsDiff(fake, exact.outputs.logits) / spread;
    console.log(
      `${name}: clipped pairs per layer ${clipped.join("/")}, bound ${maxBound(q)}; ` +
        `|ORT int8 − JS exact| / spread ${dOrt.toExponential(1)}, |ORT float QDQ − JS exact| ${
          dFake.toExponential(1)
        }, avx2 top-1 agreement with exact ${
          agreement(argmaxRows(avx2.outputs.logits, 2), argmaxRows(exact.outputs.logits, 2))
        }`,
    );
    // One requantization step may round a code differently (fp32 multiplier vs JS doubles).
    assert(dOrt < 0.02 && dFake < 0.02, `${name}: reference differs from onnxruntime (${dOrt}, ${dFake})`);
    if (!name.startsWith("before")) {
      assert(maxBound(q) <= INT16_MAX, `${name}: bound ${maxBound(q)}`);
      assertEquals(clipped, clipped.map(() => 0));
      assertEquals(avx2.outputs.logits, exact.outputs.logits); // saturation cannot change anything
    } else {
      assert(clipped[0] > 0, "bright random images should saturate the 8-bit first conv");
    }
  }
});

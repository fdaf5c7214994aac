/**
 * `deno task bench:int8 [artifacts/quick]`: on a pipeline run's real models (export/<variant>/
 * model.fp32.onnx, calibrated on its fetch/ images), how many u8×s8 int16 pair sums an x86 kernel
 * without VNNI would clip, before the fix (every conv int8, 8-bit weights) and with the shipped
 * scheme (the image conv float, 7-bit weights), per variant and calibration. See int8_reference.ts.
 */
import { join } from "node:path";
import { loadDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { firstImages } from "./evaluate.ts";
import { graphFromBytes, INT16_MAX, pairBound, runReference } from "./int8_reference.ts";
import { activationTargets, calibrate, type QdqOptions, quantizeQdq } from "./quantize.ts";

const SCHEMES: Record<string, QdqOptions> = {
  before: { weightBits: 8, inputBits: 8, keepFloat: [], ops: ["Conv", "Gemm"] },
  shipped: {},
};

/** Lines of the report: variant, calibration, clipped pairs per scheme (per layer in parentheses). */
export async function int8ClipReport(artifacts: string, images = 4): Promise<string[]> {
  const data = await loadDataset(join(artifacts, "fetch"));
  const S = data.size, calN = Math.min(64, data.splits.train.count);
  const cal = firstImages(data.splits.train, calN, S), test = firstImages(data.splits.test, images, S);
  const variants = [...Deno.readDirSync(join(artifacts, "export"))].filter((e) => e.isDirectory).map((e) =>
    e.name
  )
    .sort();
  const lines: string[] = [];
  for (const v of variants) {
    const graph = graphFromBytes(await Deno.readFile(join(artifacts, "export", v, "model.fp32.onnx")));
    for (const method of ["minmax", "percentile"] as const) {
      const targets = activationTargets(graph, ["Conv", "Gemm"]);
      const ranges = await calibrate(graph, targets, cal, calN, [S, S, 3], { method, percentile: 99.99 });
      const cells = Object.entries(SCHEMES).map(([name, options]) => {
        const q = quantizeQdq(graph, ranges, options);
        const { stats } = runReference(q, test, images, [S, S, 3]);
        const bound = Math.max(...pairBound(q).map((b) => b.anyPairing));
        const clipped = stats.reduce((a, s) => a + s.clipped, 0);
        return `${name} ${clipped} (${stats.map((s) => s.clipped).join("/")}), bound ${bound}${
          bound <= INT16_MAX ? " ≤ int16" : ""
        }`;
      });
      lines.push(`${v.padEnd(15)} ${method.padEnd(10)} ${cells.join("  ")}`);
    }
  }
  return lines;
}

if (import.meta.main) {
  await initEngine();
  const dir = Deno.args[0] ?? "artifacts/quick";
  console.log(`clipped int16 pair sums on 4 test images of ${dir}:`);
  for (const line of await int8ClipReport(dir)) console.log(line);
}

/**
 * The classifier live inference runs: an exported ONNX variant in onnxruntime-node, named as the
 * pipeline names it (`teacher_p50`, resolved through the export stage's results) or given as a
 * path to an .onnx file. Its input size, layout and class names come from the file's own
 * metadata (written by the export stage), so a copied file classifies the same way.
 */
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { ExpectedError } from "../core/errors.ts";
import { createSession, ort, toNchw } from "../export/ort.ts";

/** A loaded classifier: batch of size×size RGB crops in [0, 1] → label and probability per crop. */
export interface LiveClassifier {
  /** The variant name, or the file's name. */
  name: string;
  path: string;
  size: number;
  classes: string[];
  classify(crops: Float32Array, n: number): Promise<{ label: string; prob: number }[]>;
  dispose(): Promise<void>;
}

/** Where `--model` is looked up, and which exported format of a variant to take. */
export interface ClassifierOptions {
  /** The export stage's folder, e.g. artifacts/quick/export. */
  exportDir: string;
  format: "onnx-fp32" | "onnx-int8" | "onnx-fp16";
  threads?: number;
}

/** Open `model` (a variant of `exportDir` or a path to an .onnx file); errors name the model and what to do. */
export async function openClassifier(model: string, o: ClassifierOptions): Promise<LiveClassifier> {
  const path = await modelPath(model, o);
  const { bytes, meta, size, layout } = await readExported(path);
  const classes = JSON.parse(meta.classes ?? "null") as string[] | null;
  if (!size || !classes?.length || meta.task === "segmentation") {
    throw new ExpectedError(
      `model "${path}" is not a classifier exported by edgeslim (its metadata lacks input_size / classes, ` +
        `or it is a ${meta.task} model)`,
    );
  }
  const session = await createSession(bytes, { threads: o.threads ?? 1 });
  const output = session.outputNames.includes("probs") ? "probs" : session.outputNames[0];
  return {
    name: model.endsWith(".onnx") ? path.split("/").pop()! : model,
    path,
    size,
    classes,
    async classify(crops, n) {
      if (n === 0) return [];
      const x = layout === "NHWC" ? crops : toNchw(crops, n, size, size, 3);
      const dims = layout === "NHWC" ? [n, size, size, 3] : [n, 3, size, size];
      const out = await session.run({ input: new ort.Tensor("float32", x, dims) });
      const y = out[output].data as Float32Array, k = classes.length;
      for (const t of Object.values(out)) t.dispose();
      return Array.from({ length: n }, (_, i) => {
        const row = y.subarray(i * k, (i + 1) * k);
        const probs = output === "probs" ? row : softmax(row);
        let best = 0;
        for (let c = 1; c < k; c++) if (probs[c] > probs[best]) best = c;
        return { label: classes[best], prob: probs[best] };
      });
    },
    dispose: () => session.release(),
  };
}

/** `model` itself when it is an .onnx path, else the file of that variant in an export stage's results. */
export async function modelPath(
  name: string,
  o: { exportDir: string; format: ClassifierOptions["format"] },
): Promise<string> {
  if (name.endsWith(".onnx")) return name;
  const results = join(o.exportDir, "results.part.json");
  let exports: Record<string, { formats: Record<string, { path: string } | undefined> }>;
  try {
    exports = JSON.parse(await Deno.readTextFile(results)).exports ?? {};
  } catch {
    throw new ExpectedError(
      `--model ${name}: no export results at "${results}"; run \`deno task pipeline\` first, or give a path to an .onnx file`,
    );
  }
  const file = exports[name]?.formats[o.format];
  if (!exports[name]) {
    throw new ExpectedError(
      `--model ${name}: no such variant in "${results}" (known: ${Object.keys(exports).join(", ")})`,
    );
  }
  if (!file) throw new ExpectedError(`--model ${name}: the export has no ${o.format} file of it`);
  return join(o.exportDir, file.path);
}

/**
 * An ONNX file the export stage wrote: its bytes, metadata_props, input side (`input_size`,
 * 0 when absent) and input layout; errors name the file.
 */
export async function readExported(path: string): Promise<{
  bytes: Uint8Array;
  meta: Record<string, string>;
  size: number;
  layout: "NHWC" | "NCHW";
}> {
  let bytes: Uint8Array, meta: Record<string, string>;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new ExpectedError(`model "${path}" cannot be read (${(e as Error).message})`);
  }
  try {
    const m = onnxProto.onnx.ModelProto.decode(bytes);
    meta = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  } catch (e) {
    throw new ExpectedError(`model "${path}" is not an ONNX file (${(e as Error).message})`);
  }
  const size = Number(/^(\d+)x/.exec(meta.input_size ?? "")?.[1]) || 0;
  return { bytes, meta, size, layout: meta.input_layout === "NCHW" ? "NCHW" : "NHWC" };
}

function softmax(z: Float32Array): Float32Array {
  const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

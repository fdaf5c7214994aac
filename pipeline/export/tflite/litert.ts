/**
 * Run a .tflite file in Deno with LiteRT.js (`@litertjs/core`: TensorFlow Lite's own runtime in
 * wasm, XNNPACK on the CPU), the interpreter Raspberry Pi users' tflite-runtime / LiteRT shares.
 *
 * LiteRT.js is written for browsers and workers; two shims let its loader run here: a global
 * `importScripts` that evaluates a local script (the worker path of its loader, instead of a
 * `<script>` tag), and `require`/`__dirname` for the Emscripten glue, which sees `process` and
 * takes the Node path. Its tensors are float32/int32 only ("Element type INT8 is not supported"),
 * so int8 files are run with float input and outputs (`io: "float"`).
 */
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as LiteRt from "@litertjs/core";

let loaded: Promise<typeof LiteRt> | undefined;

/** Load LiteRT.js's wasm runtime once (about 0.2 s). */
export function loadLiteRt(): Promise<typeof LiteRt> {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmDir = join(dirname(require.resolve("@litertjs/core/package.json")), "wasm");
    const g = globalThis as Record<string, unknown>;
    const shims: Record<string, unknown> = {
      importScripts: (url: string) => (0, eval)(Deno.readTextFileSync(new URL(url))),
      require,
      __dirname: wasmDir,
    };
    const added = Object.keys(shims).filter((k) => g[k] === undefined);
    for (const k of added) g[k] = shims[k];
    // Its wasm glue binds console.log / console.error as its logs when it loads; the INFO /
    // WARNING lines of every model load (accelerators, OpenCL) are noise in the export log.
    const [log, error] = [console.log, console.error];
    const quiet = (print: (...a: unknown[]) => void) => (...args: unknown[]) => {
      if (!/^(INFO|WARNING): /.test(String(args[0]))) print(...args);
    };
    [console.log, console.error] = [quiet(log), quiet(error)];
    // Its WebGPU probe otherwise prints "XDG_RUNTIME_DIR is invalid" twice on a headless machine.
    if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", tmpdir());
    try {
      const lib = await import("@litertjs/core");
      await lib.loadLiteRt(pathToFileURL(wasmDir).href + "/");
      return lib;
    } finally {
      [console.log, console.error] = [log, error];
      // Only its loader needs them; left global, `importScripts` makes the next Emscripten module
      // loaded in this process (opencv.js in the live stage) take itself for a web worker.
      for (const k of added) delete g[k];
    }
  })();
  return loaded;
}

/**
 * Outputs of a .tflite model (batch-1 float input) for `n` NHWC float images, one inference each;
 * output i of all images concatenated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { tfjsToTflite } from "./graph.ts";
 * import { runLiteRt } from "./litert.ts";
 * import { encodeTflite } from "./write.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
 * const [logits] = await runLiteRt(encodeTflite(tfjsToTflite(model)), new Float32Array([1, 2, 3]), 1);
 * const want = (model.predict(tf.tensor2d([[1, 2, 3]])) as tf.Tensor).dataSync();
 * assert(Math.abs(logits[0] - want[0]) < 1e-5);
 * ```
 */
export async function runLiteRt(bytes: Uint8Array, images: Float32Array, n: number): Promise<Float32Array[]> {
  const lib = await loadLiteRt();
  const model = await lib.loadAndCompile(bytes, { accelerator: "wasm" });
  try {
    const shape = [...model.getInputDetails()[0].shape];
    const per = images.length / n;
    const outs: Float32Array[][] = [];
    for (let i = 0; i < n; i++) {
      const input = new lib.Tensor(images.slice(i * per, (i + 1) * per), shape);
      const results = await model.run([input]);
      input.delete();
      results.forEach((t, j) => {
        (outs[j] ??= []).push(Float32Array.from(t.toTypedArray() as Float32Array));
        t.delete();
      });
    }
    return outs.map((parts) => {
      const all = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts) all.set(p, (at += p.length) - p.length);
      return all;
    });
  } finally {
    model.delete();
  }
}

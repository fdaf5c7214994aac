/**
 * Arm NN's TfLiteParser (Debian `python3-pyarmnn`, CpuRef backend) as an independent reader of
 * our .tflite files, through the bench stage's `tflite_run.py` (`--runtime armnn --backend CpuRef`).
 *
 * Arm NN 20.08 (Debian 12's) reads schema-3 files as TFLite 2.2 wrote them: weights must be
 * constant buffers (so it cannot run the fp16-weights form, whose weights come out of
 * DEQUANTIZE ops), and its FullyConnected takes per-tensor int8 weights only.
 */
import { join } from "node:path";

const SCRIPT = new URL("../../bench/tflite_run.py", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

/** Whether Debian's python3 can import pyarmnn (its TfLiteParser included). */
export async function armnnAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import pyarmnn; pyarmnn.ITfLiteParser"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** What tflite_run.py reports about a file it ran. */
export interface ArmnnReport {
  /** e.g. "Arm NN 32.0.0 (pyarmnn)". */
  runtime: string;
  backend: string;
  images: number;
  inputs: { name: string; shape: number[]; dtype: string; scale: number | null; zero_point: number | null }[];
  outputs: {
    name: string;
    shape: number[];
    dtype: string;
    scale: number | null;
    zero_point: number | null;
  }[];
}

/**
 * Parse and run `modelPath` with Arm NN on `n` NHWC float images (one inference each; int8
 * inputs/outputs are (de)quantized with the file's parameters). Output i of all images,
 * concatenated, as float32.
 */
export async function runArmnn(
  modelPath: string,
  images: Float32Array,
  n: number,
): Promise<{ outputs: Float32Array[]; report: ArmnnReport }> {
  const dir = await Deno.makeTempDir({ prefix: "armnn_" });
  try {
    const input = join(dir, "input.f32");
    await Deno.writeFile(input, new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
    const out = await new Deno.Command(PYTHON, {
      args: [SCRIPT, modelPath, input, dir, "--runtime", "armnn", "--backend", "CpuRef"],
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`Arm NN cannot run "${modelPath}": ${err}`);
    }
    const report = JSON.parse(text.split("\n").at(-1)!) as ArmnnReport;
    if (report.images !== n) {
      throw new Error(`Arm NN ran ${report.images} images of "${modelPath}", not ${n}`);
    }
    const outputs = await Promise.all(
      report.outputs.map(async (_, i) =>
        new Float32Array((await Deno.readFile(join(dir, `output_${i}.f32`))).buffer)
      ),
    );
    return { outputs, report };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

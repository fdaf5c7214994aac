/**
 * Helpers of the live tests: which tools and data this machine has, tests that skip without them
 * (and fail instead under CI=true), pixel statistics, PATH tricks, and a small exported classifier.
 */

import { exportTinyClassifiers } from "./_export_helpers.ts";

/** The opencv-doc sample data folder. */
export const DATA = "/usr/share/doc/opencv-doc/examples/data";
/** The Python that has cv2 (the PATH one may not). */
export const PYTHON = "/usr/bin/python3";

/** What a test may need. */
export type Need = "ffmpeg" | "gst" | "data" | "cv2" | "chromium";

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

const available: Record<Need, boolean> = {
  ffmpeg: await succeeds("ffmpeg", ["-version"]) && await succeeds("ffprobe", ["-version"]),
  gst: await succeeds("gst-launch-1.0", ["--version"]) && await succeeds("gst-inspect-1.0", ["--version"]),
  data: await Deno.stat(`${DATA}/Megamind.avi`).then(() => true, () => false),
  cv2: await succeeds(PYTHON, ["-c", "import cv2"]),
  chromium: await succeeds("chromium", ["--version"]),
};

const HOW: Record<Need, string> = {
  ffmpeg: "ffmpeg/ffprobe (apt-get install ffmpeg)",
  gst: "gst-launch-1.0 (apt-get install gstreamer1.0-tools)",
  data: `${DATA} (apt-get install opencv-doc)`,
  cv2: `${PYTHON} with cv2 (apt-get install python3-opencv)`,
  chromium: "chromium (apt-get install chromium)",
};

/** A Deno test that is skipped with a printed reason when a need is missing, and fails then when CI=true. */
export function testWith(name: string, needs: Need[], fn: () => Promise<void> | void): void {
  const missing = needs.filter((n) => !available[n]).map((n) => HOW[n]);
  const ci = Deno.env.get("CI") === "true";
  if (missing.length && !ci) console.log(`SKIP "${name}": missing ${missing.join(", ")}`);
  Deno.test({
    name,
    ignore: missing.length > 0 && !ci,
    fn: async () => {
      if (missing.length) throw new Error(`CI=true and this test needs ${missing.join(", ")}`);
      await fn();
    },
  });
}

/** Max and mean absolute difference of two equal-length byte arrays. */
export function absDiff(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.length };
}

/** Run `fn` with PATH set to `path`, restoring it after. */
export async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", path);
  try {
    return await fn();
  } finally {
    Deno.env.set("PATH", saved);
  }
}

/** A folder holding links to the named programs only (found on the current PATH). */
export async function pathWithOnly(programs: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "path_" });
  for (const program of programs) {
    const where = (Deno.env.get("PATH") ?? "").split(":").map((d) => `${d}/${program}`);
    for (const candidate of where) {
      if (await Deno.stat(candidate).then(() => true, () => false)) {
        await Deno.symlink(candidate, `${dir}/${program}`);
        break;
      }
    }
  }
  return dir;
}

/** Collect all frames of an async iterable of `{rgb}`. */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** fetch (synthetic 32×32) → a random classifier "tiny" → its ONNX fp32 / int8 export; returns the export dir. */
export async function exportedClassifier(base: string): Promise<string> {
  const dirs = await exportTinyClassifiers(base, {
    size: 32,
    countPerClass: 12,
    models: { tiny: [4, 8, 16] },
    formats: ["onnx-fp32", "onnx-int8"],
  });
  return dirs.export;
}

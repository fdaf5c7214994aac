/**
 * The `synthetic` source: procedural faces generated once into the cache, keyed by the
 * generator's code (the hash of synthetic.ts's import graph: any edit of the drawing, the PRNG
 * or the sharp version makes a new folder), seed and count, then read like a `dir` source.
 */
import { join } from "node:path";
import { codeHash } from "../../core/code_graph.ts";
import { writeSyntheticDir } from "../synthetic.ts";

/** The generator module whose import graph keys the cache. */
const GENERATOR = new URL("../synthetic.ts", import.meta.url);

/** Side of the generated PNGs; the fetch stage resizes them like any other source. */
export const SYNTHETIC_SIZE = 128;

/**
 * Return cacheDir/synthetic/<code>-seed<seed>-n<count>-<size>/ (`code`: 12 hex digits of the
 * generator's code hash), generating it (through a temp folder renamed into place) when missing.
 * `onImage` ticks once per generated image.
 */
export async function syntheticDir(
  cacheDir: string,
  seed: number,
  countPerClass: number,
  onStart?: (total: number) => (() => void) | undefined,
): Promise<{ dir: string; generated: boolean }> {
  const dir = join(
    cacheDir,
    "synthetic",
    `${(await codeHash(GENERATOR)).slice(0, 12)}-seed${seed}-n${countPerClass}-${SYNTHETIC_SIZE}`,
  );
  if (await Deno.stat(dir).then(() => true, () => false)) return { dir, generated: false };
  const tmp = `${dir}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const onImage = onStart?.(2 * countPerClass);
  try {
    await writeSyntheticDir(tmp, countPerClass, { seed, size: SYNTHETIC_SIZE, onImage });
    await Deno.rename(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {}); // only our own half-written temp
    throw e;
  }
  return { dir, generated: true };
}

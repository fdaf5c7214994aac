/**
 * The `synthetic` source: procedural faces generated once into the cache, keyed by
 * generator version, seed and count, then read like a `dir` source.
 */
import { join } from "node:path";
import { GENERATOR_VERSION, writeSyntheticDir } from "../synthetic.ts";

/** Side of the generated PNGs; the fetch stage resizes them like any other source. */
export const SYNTHETIC_SIZE = 128;

/**
 * Return cacheDir/synthetic/v<version>-seed<seed>-n<count>-<size>/, generating it (through a
 * temp folder renamed into place) when missing. `onImage` ticks once per generated image.
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
    `v${GENERATOR_VERSION}-seed${seed}-n${countPerClass}-${SYNTHETIC_SIZE}`,
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

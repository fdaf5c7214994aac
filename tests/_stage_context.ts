/** A hand-built StageContext for calling a stage's `run` directly in tests. */
import { join } from "node:path";
import type { StageContext } from "../pipeline/core/types.ts";

/** A StageContext whose log lines are collected in `lines`. */
export interface TestContext<P> extends StageContext<P> {
  lines: string[];
}

/** Temp out folder under `base`, cache and artifacts in `base`, seed 7, no-op progress. */
export function stageContext<P>(
  name: string,
  params: P,
  base: string,
  depDirs: Record<string, string> = {},
): TestContext<P> {
  const lines: string[] = [];
  return {
    name,
    profile: "test",
    params,
    seed: 7,
    root: base,
    outDir: Deno.makeTempDirSync({ dir: base, prefix: `${name}-` }),
    depDirs,
    artifactsDir: join(base, "artifacts"),
    cacheDir: join(base, "cache"),
    log: { info: (m) => lines.push(m), warn: (m) => lines.push(`warn ${m}`) },
    progress: () => ({ tick() {}, done() {} }),
    lines,
  };
}

/** Run `fn` with a fresh temp folder, removed afterwards. */
export async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

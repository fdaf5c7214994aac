/**
 * What an interrupted compress run finished, kept in the stage's resume folder: each finished
 * variant's output folder and its record (row, model record), and the epoch checkpoints of the
 * one in training. A variant counts as finished only when its folder was renamed into place.
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, removePath, writeFileAtomic } from "../core/atomic_write.ts";
import type { Logger } from "../core/types.ts";
import { inLanes } from "../train/lanes.ts";

/** A variant to make: its name, its rough cost (epochs × FLOPs: the costliest start first) and how. */
export interface VariantJob<R> {
  name: string;
  cost: number;
  make: () => Promise<R>;
}

export class VariantStore<R> {
  /** `resumeDir` undefined: nothing is kept (every variant is trained). */
  constructor(private resumeDir: string | undefined, private outDir: string) {}

  /** Where the fit of `name` writes its epoch checkpoints, or undefined without a resume folder. */
  checkpoint(name: string): string | undefined {
    return this.resumeDir && join(this.resumeDir, "fit", name);
  }

  /** The record of a variant an earlier run finished, with its folder copied back into the out folder. */
  async reuse(name: string): Promise<R | undefined> {
    if (!this.resumeDir) return undefined;
    const dir = join(this.resumeDir, "variants", name);
    if (!await pathExists(join(dir, "record.json"))) return undefined;
    if (await pathExists(join(dir, "out"))) {
      await cp(join(dir, "out"), join(this.outDir, name), { recursive: true });
    }
    return JSON.parse(await Deno.readTextFile(join(dir, "record.json"))) as R;
  }

  /**
   * Every job's record, `lanes` at a time, in job order: what an interrupted run finished is
   * reused (and logged as kept), the rest made (each `make` stashes its own record).
   */
  makeAll(jobs: VariantJob<R>[], lanes: number, log: Logger): Promise<R[]> {
    return inLanes(jobs, lanes, async ({ name, make }) => {
      const kept = await this.reuse(name);
      if (kept) log.info(`${name}: kept from the interrupted run`);
      return kept ?? await make();
    }, { cost: (job) => job.cost });
  }

  /** Keep a finished variant: its out folder (`<outDir>/<name>`, if any) and its record. */
  async stash(name: string, record: R): Promise<void> {
    if (!this.resumeDir) return;
    const final = join(this.resumeDir, "variants", name), tmp = `${final}.tmp-${Deno.pid}`;
    await removePath(tmp);
    await Deno.mkdir(tmp, { recursive: true });
    if (await pathExists(join(this.outDir, name))) {
      await cp(join(this.outDir, name), join(tmp, "out"), { recursive: true });
    }
    await writeFileAtomic(join(tmp, "record.json"), JSON.stringify(record));
    await removePath(final);
    await Deno.rename(tmp, final);
    await removePath(this.checkpoint(name)!);
  }
}

/**
 * What an interrupted compress run finished, kept in the stage's resume folder: each finished
 * variant's output folder and its record (row, model record), and the epoch checkpoints of the
 * one in training. A variant counts as finished only when its folder was renamed into place.
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { pathExists, removePath, writeFileAtomic } from "../core/atomic_write.ts";

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

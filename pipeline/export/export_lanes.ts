/**
 * Export lanes: a Worker per lane (`_export_worker.ts`) that exports the variants it is given, so
 * the export stage keeps every core busy. A variant's files and numbers are the same as when it
 * is exported on the main thread: the same code, runtimes and threads.
 */
import { ExpectedError } from "../core/errors.ts";
import type { ExportOptions, VariantExport } from "./variant.ts";

/** A variant to export in a lane: the options minus what cannot cross a thread. */
export interface ExportJob {
  options: Omit<ExportOptions, "task" | "data">;
  /** The task by name (tasks/mod.ts). */
  task: string;
  /** The fetch stage's folder, loaded once per lane. */
  fetchDir?: string;
}

type Reply = { ok: true; result: VariantExport } | {
  ok: false;
  message: string;
  stack?: string;
  expected: boolean;
};

/** `size` Workers; `run` sends a job to an idle one (at most `size` jobs at a time). */
export class ExportLanes {
  #idle: Worker[];
  #all: Worker[];

  constructor(size: number) {
    this.#all = Array.from(
      { length: size },
      () => new Worker(new URL("./_export_worker.ts", import.meta.url), { type: "module" }),
    );
    this.#idle = [...this.#all];
  }

  /** Export one variant in an idle lane; an expected failure there is one here too. */
  run(job: ExportJob): Promise<VariantExport> {
    const worker = this.#idle.pop();
    if (!worker) throw new Error("ExportLanes: more jobs at once than lanes");
    return new Promise<VariantExport>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<Reply>) => {
        this.#idle.push(worker);
        const reply = e.data;
        if (reply.ok) return resolve(reply.result);
        if (reply.expected) return reject(new ExpectedError(reply.message));
        const error = new Error(reply.message);
        error.stack = reply.stack;
        reject(error);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`export lane for "${job.options.name}": ${e.message}`));
      };
      worker.postMessage(job);
    });
  }

  close(): void {
    this.#all.forEach((w) => w.terminate());
  }
}

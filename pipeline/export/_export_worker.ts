/// <reference lib="deno.worker" />
/**
 * One export lane (stages/export.ts): a Worker that exports the variants it is sent, one at a
 * time, with its own tfjs, onnxruntime and LiteRT, so two variants export on two cores. The data
 * set is loaded once per lane.
 */
import { isExpected } from "../core/errors.ts";
import { type Dataset, loadDataset } from "../data/dataset.ts";
import { initEngine } from "../engine/mod.ts";
import { loadModel } from "../models/io.ts";
import { taskByName } from "../tasks/mod.ts";
import type { ExportJob } from "./export_lanes.ts";
import { exportVariant } from "./variant.ts";

const datasets = new Map<string, Promise<Dataset>>();

self.onmessage = async (e: MessageEvent<ExportJob>) => {
  const job = e.data;
  try {
    await initEngine();
    const data = job.fetchDir
      ? await (datasets.get(job.fetchDir) ??
        (datasets.set(job.fetchDir, loadDataset(job.fetchDir)), datasets.get(job.fetchDir)!))
      : undefined;
    const model = await loadModel(job.options.checkpointDir);
    try {
      const result = await exportVariant(model, { ...job.options, task: taskByName(job.task), data });
      self.postMessage({ ok: true, result });
    } finally {
      model.dispose();
    }
  } catch (err) {
    const error = err as Error;
    self.postMessage({ ok: false, message: error.message, stack: error.stack, expected: isExpected(error) });
  }
};

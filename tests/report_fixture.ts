/** Shared fake results.json and stage context for the report tests (not a test file itself). */
import type { EpochRecord, ModelRecord, ResultsFile, StageContext } from "../pipeline/core/types.ts";

function history(base: number): EpochRecord[] {
  return [1, 2, 3].map((epoch) => ({
    epoch,
    train_loss: 0.7 - 0.15 * epoch * base,
    train_acc: 0.6 + 0.1 * epoch * base,
    val_loss: 0.72 - 0.14 * epoch * base,
    val_acc: 0.58 + 0.11 * epoch * base,
    seconds: 10 + epoch,
  }));
}

function model(technique: string, params: [number, number], acc: number, base: number): ModelRecord {
  return {
    technique,
    spec: { channels: [8, 16, 32] },
    params_torch: params[0],
    params_tfjs: params[1],
    history: history(base),
    best_epoch: 3,
    stopped_early: false,
    train_seconds: 125.4,
    test: {
      accuracy: acc,
      precision: 0.96,
      recall: 0.98,
      f1: 0.9699,
      confusion: [[195, 5], [4, 196]],
      classes: ["with_mask", "without_mask"],
      positive_class: "with_mask",
    },
    checkpoint: "models/x/model.json",
  };
}

/** The shape the fetch stage writes as `dataset` in its results part. */
function dataset() {
  return {
    source: "synthetic",
    root: "data/cache/synthetic",
    classes: ["with_mask", "without_mask"],
    size: 64,
    fit: "fill",
    images: 2785,
    total: { train: 1948, val: 417, test: 419 },
    counts: {
      train: { with_mask: 964, without_mask: 984 },
      val: { with_mask: 206, without_mask: 211 },
      test: { with_mask: 207, without_mask: 212 },
    },
    skipped: [{ path: "with_mask/broken.png", reason: "truncated PNG" }],
  };
}

/** A results.json with two trained models, fetch done, compress not implemented, export/bench absent. */
export function fakeResults(): ResultsFile {
  return {
    profile: "quick",
    generated_at: "2026-11-23T03:00:00.000Z",
    pipeline_file: "pipeline.yaml",
    pipeline_sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    seed: 42,
    stages: {
      fetch: {
        status: "done",
        seconds: 3.2,
        summary: { ...dataset(), decoded: 2784, from_cache: 0, skipped: 1, skipped_files: dataset().skipped },
      },
      train: { status: "done", seconds: 250.8, summary: { models: 2 } },
      compress: { status: "not_implemented" },
    },
    models: {
      teacher: model("baseline", [93954, 94402], 0.975, 1),
      small: model("distillation", [6210, 6322], 0.9625, 0.8),
    },
    rows: [],
    extra: { fetch: { dataset: dataset() } },
  };
}

/** Log lines a test context collected. */
export interface Collected {
  info: string[];
  warn: string[];
}

/** A stage context over temp folders, with a collecting logger and a no-op progress. */
export function makeContext<P>(params: P, artifactsDir: string, outDir: string): {
  ctx: StageContext<P>;
  logs: Collected;
} {
  const logs: Collected = { info: [], warn: [] };
  const ctx: StageContext<P> = {
    name: "report",
    profile: "quick",
    params,
    seed: 42,
    root: Deno.cwd(),
    outDir,
    depDirs: {},
    artifactsDir,
    cacheDir: artifactsDir,
    log: { info: (m) => logs.info.push(m), warn: (m) => logs.warn.push(m) },
    progress: () => ({ tick() {}, done() {} }),
  };
  return { ctx, logs };
}

const created: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of created) Deno.removeSync(dir, { recursive: true });
});

/** Write `results` into a fresh temp artifacts folder; returns it with a fresh out folder. */
export async function tempDirs(results?: ResultsFile): Promise<{ artifacts: string; out: string }> {
  const artifacts = await Deno.makeTempDir({ prefix: "edgeslim-report-art-" });
  const out = await Deno.makeTempDir({ prefix: "edgeslim-report-out-" });
  created.push(artifacts, out);
  if (results) await Deno.writeTextFile(`${artifacts}/results.json`, JSON.stringify(results, null, 2));
  return { artifacts, out };
}

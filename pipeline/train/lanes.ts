/**
 * Models trained side by side: a stage's training jobs run at most `lanes` at a time, each with
 * its own trainer in its own Worker, so two single-worker models keep two cores busy where one
 * two-worker model could not (a U-Net batch of 4 split in two spends more on the split than it
 * saves). Which lane a job runs in changes nothing but the wall time: every model's numbers depend
 * on its own worker count only.
 */

import { defaultWorkers } from "../engine/mod.ts";

/** The `workers` and `lanes` params of a training stage. */
export interface LaneParams {
  /** Workers per model: "auto" = one per core, at most 2. */
  workers: "auto" | number;
  /** Models at a time: "auto" = as many as the cores hold at `workers` each. */
  lanes: "auto" | number;
}

/**
 * How many models train at once for these params on a machine with `cores` cores.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { laneCount } from "./lanes.ts";
 * assert.equal(laneCount({ workers: 1, lanes: "auto" }, 2), 2);
 * assert.equal(laneCount({ workers: "auto", lanes: "auto" }, 2), 1);
 * assert.equal(laneCount({ workers: 2, lanes: 3 }, 2), 3);
 * ```
 */
export function laneCount(p: LaneParams, cores = navigator.hardwareConcurrency ?? 1): number {
  if (p.lanes !== "auto") return p.lanes;
  const perModel = p.workers === "auto" ? defaultWorkers(cores) : p.workers;
  return Math.max(1, Math.floor(cores / Math.max(1, perModel)));
}

/** Options of {@linkcode inLanes}. */
export interface LaneOptions<J> {
  /** Rough cost of a job: the costliest start first, so the lanes end close together. @default job order */
  cost?: (job: J) => number;
}

/**
 * Run `jobs` at most `lanes` at a time; the results come back in job order, whichever finished
 * first. After a failure no job starts, the running ones finish (nothing is left half-written),
 * and the first error is thrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inLanes } from "./lanes.ts";
 * const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
 * const started: number[] = [];
 * const out = await inLanes([5, 30, 10], 2, async (ms, i) => {
 *   started.push(i);
 *   await wait(ms);
 *   return ms * 2;
 * }, { cost: (ms) => ms });
 * assert.deepEqual(out, [10, 60, 20]);
 * assert.deepEqual(started, [1, 2, 0]);
 * ```
 */
export async function inLanes<J, R>(
  jobs: readonly J[],
  lanes: number,
  run: (job: J, index: number) => Promise<R>,
  opts: LaneOptions<J> = {},
): Promise<R[]> {
  const order = jobs.map((_, i) => i);
  if (opts.cost) {
    const costs = jobs.map(opts.cost);
    order.sort((a, b) => costs[b] - costs[a] || a - b);
  }
  const results = new Array<R>(jobs.length);
  let next = 0, failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < order.length) {
      const i = order[next++];
      try {
        results[i] = await run(jobs[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, jobs.length)) }, lane));
  if (failure) throw failure.error;
  return results;
}

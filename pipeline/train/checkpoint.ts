/**
 * A training run's checkpoint after a finished epoch, so a killed run resumes bit-identically: the
 * trainer's full state (weights, BN statistics, Adam's moments and step), the best epoch's weights,
 * the history and the early-stopping state. One file, written to a temp name and renamed: a
 * checkpoint is either the whole of an epoch or absent.
 * Layout: 4-byte little-endian header length, a JSON header (numbers, history, array lengths),
 * then the arrays' bytes in header order, each at an 8-byte aligned offset.
 */
import { join } from "node:path";
import { pathExists, writeFileAtomic } from "../core/atomic_write.ts";
import type { TrainerSnapshot } from "../engine/mod.ts";

/** What a checkpoint holds besides the arrays. */
export interface CheckpointMeta {
  /** The last finished epoch. */
  epoch: number;
  bestLoss: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  history: unknown[];
}

export interface Checkpoint extends CheckpointMeta {
  trainer: TrainerSnapshot;
  /** The best epoch's trainable weights and BN statistics. */
  best: { trainable: Float32Array; state: Float32Array };
}

const FILE = "checkpoint.bin";
const ARRAYS = ["trainable", "state", "adamM", "adamV", "bestTrainable", "bestState"] as const;

/** Write `c` into `dir` (created), replacing the previous checkpoint atomically. */
export async function saveCheckpoint(dir: string, c: Checkpoint): Promise<void> {
  const arrays = [
    c.trainer.trainable,
    c.trainer.state,
    c.trainer.adamM,
    c.trainer.adamV,
    c.best.trainable,
    c.best.state,
  ];
  const { trainer: _t, best: _b, ...meta } = c;
  const header = new TextEncoder().encode(JSON.stringify({
    ...meta,
    step: c.trainer.step,
    arrays: arrays.map((a, i) => ({
      name: ARRAYS[i],
      type: a instanceof Float64Array ? "f64" : "f32",
      length: a.length,
    })),
  }));
  let size = align(4 + header.length);
  const offsets = arrays.map((a) => {
    const at = size;
    size = align(size + a.byteLength);
    return at;
  });
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, header.length, true);
  bytes.set(header, 4);
  arrays.forEach((a, i) => bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offsets[i]));
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, FILE), bytes);
}

/** The checkpoint in `dir`, or undefined when there is none. A damaged file is an error naming it. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const path = join(dir, FILE);
  if (!await pathExists(path)) return undefined;
  const bytes = await Deno.readFile(path);
  try {
    const n = new DataView(bytes.buffer).getUint32(0, true);
    const head = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n)));
    let at = align(4 + n);
    const arrays = (head.arrays as { type: string; length: number }[]).map(({ type, length }) => {
      const width = type === "f64" ? 8 : 4, end = at + length * width;
      if (end > bytes.length) throw new Error("truncated");
      const copy = bytes.slice(at, end).buffer;
      at = align(end);
      return type === "f64" ? new Float64Array(copy) : new Float32Array(copy);
    });
    const [trainable, state, adamM, adamV, bestTrainable, bestState] = arrays;
    return {
      epoch: head.epoch,
      bestLoss: head.bestLoss,
      bestEpoch: head.bestEpoch,
      stoppedEarly: head.stoppedEarly,
      history: head.history,
      trainer: {
        trainable: trainable as Float32Array,
        state: state as Float32Array,
        adamM: adamM as Float64Array,
        adamV: adamV as Float64Array,
        step: head.step,
      },
      best: { trainable: bestTrainable as Float32Array, state: bestState as Float32Array },
    };
  } catch (e) {
    throw new Error(
      `Cannot read checkpoint "${path}": ${(e as Error).message}; delete it to start that training over`,
    );
  }
}

function align(n: number): number {
  return Math.ceil(n / 8) * 8;
}

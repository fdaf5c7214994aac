/**
 * The timing both live loops (faces, U-Net masks) share: laps between the stages of a frame, the
 * frame's total since the previous frame was done (capture wait included), and the run's FPS and
 * per-stage medians.
 */
import { percentile } from "../bench/stats.ts";

/** Per-frame milliseconds by stage; `total` is the frame's wall time. */
export type StageTimes<K extends string> = Record<K | "total", number>;

/** Laps and totals of a run's frames. */
export class FrameClock<K extends string> {
  readonly times: StageTimes<K>[] = [];
  readonly #started = performance.now();
  #last = this.#started;
  #lapAt = this.#started;

  constructor(readonly stages: readonly K[]) {}

  /** Start timing a frame's stages. */
  start(): void {
    this.#lapAt = performance.now();
  }

  /** Milliseconds since `start` or the previous lap. */
  lap(): number {
    const now = performance.now(), ms = now - this.#lapAt;
    this.#lapAt = now;
    return ms;
  }

  /** Close the frame: its stage times plus the total since the previous frame was done. */
  end(stages: Record<K, number>): StageTimes<K> {
    const ms = { ...stages, total: this.#lapAt - this.#last } as StageTimes<K>;
    this.#last = this.#lapAt;
    this.times.push(ms);
    return ms;
  }

  /** Frames per second over the frames closed so far (0 before the first). */
  fps(): number {
    return this.times.length ? 1000 * this.times.length / (this.#last - this.#started) : 0;
  }

  /** Frames, seconds, FPS and the median of every stage (and the total). */
  summary(): { frames: number; seconds: number; fps: number; ms_median: StageTimes<K> } {
    const median = (k: K | "total") => percentile(this.times.map((x) => x[k]).sort((a, b) => a - b), 50);
    const keys = [...this.stages, "total"] as (K | "total")[];
    return {
      frames: this.times.length,
      seconds: (this.#last - this.#started) / 1000,
      fps: this.fps(),
      ms_median: Object.fromEntries(keys.map((k) => [k, median(k)])) as StageTimes<K>,
    };
  }
}

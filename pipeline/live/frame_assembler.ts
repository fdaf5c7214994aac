/**
 * Reassembles a byte stream (pipe chunks of any size) into whole fixed-size frames.
 */

/**
 * Cuts a stream of chunks into frames of exactly `frameBytes` bytes: no byte lost, none torn.
 * Pure: no I/O, so it is tested with random chunk sizes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrameAssembler } from "./frame_assembler.ts";
 * const a = new FrameAssembler(4);
 * assert.equal(a.push(new Uint8Array([1, 2, 3])).length, 0);
 * const frames = a.push(new Uint8Array([4, 5, 6, 7, 8, 9]));
 * assert.deepEqual(frames, [new Uint8Array([1, 2, 3, 4]), new Uint8Array([5, 6, 7, 8])]);
 * assert.equal(a.pendingBytes, 1);
 * ```
 */
export class FrameAssembler {
  #frame: Uint8Array | undefined;
  #filled = 0;

  constructor(readonly frameBytes: number) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) {
      throw new RangeError(`frameBytes must be a positive integer, not ${frameBytes}`);
    }
  }

  /** Take the next chunk; return the frames it completed (zero or more), each a new array. */
  push(chunk: Uint8Array): Uint8Array[] {
    const done: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      this.#frame ??= new Uint8Array(this.frameBytes);
      const n = Math.min(this.frameBytes - this.#filled, chunk.length - at);
      this.#frame.set(chunk.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === this.frameBytes) {
        done.push(this.#frame);
        this.#frame = undefined;
        this.#filled = 0;
      }
    }
    return done;
  }

  /** Bytes of the frame not yet complete; non-zero when the stream ends means a torn last frame. */
  get pendingBytes(): number {
    return this.#filled;
  }
}

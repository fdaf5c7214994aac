/**
 * Step-scoped typed arrays, reused from one training step to the next. A fresh large typed array
 * costs a page fault per 4 KiB on first touch (measured: 34 MB filled in 11.7 ms fresh, 4.4 ms
 * reused); a training step allocates hundreds of MB of activations and gradients.
 */
export class Arena {
  #free = new Map<string, (Float32Array | Int32Array)[]>();
  #used: [string, Float32Array | Int32Array][] = [];

  #take<T extends Float32Array | Int32Array>(kind: "f" | "i", n: number, make: (n: number) => T): T {
    const key = `${kind}${n}`, list = this.#free.get(key);
    const arr = (list?.pop() as T | undefined) ?? make(n);
    this.#used.push([key, arr]);
    return arr;
  }

  /** A float array of `n` values with undefined contents (the caller overwrites every value). */
  f32(n: number): Float32Array {
    return this.#take("f", n, (k) => new Float32Array(k));
  }

  /** A float array of `n` zeros. */
  zeros(n: number): Float32Array {
    return this.f32(n).fill(0);
  }

  /** An int array of `n` values with undefined contents. */
  i32(n: number): Int32Array {
    return this.#take("i", n, (k) => new Int32Array(k));
  }

  /** End of a step: everything handed out becomes reusable; buffers this step did not use are dropped. */
  reset(): void {
    const free = new Map<string, (Float32Array | Int32Array)[]>();
    for (const [key, arr] of this.#used) {
      if (arr.buffer.byteLength === 0) continue; // transferred away
      const list = free.get(key) ?? [];
      list.push(arr);
      free.set(key, list);
    }
    this.#free = free;
    this.#used = [];
  }
}

/** Plain allocation with the arena's interface (inference: values are dropped as soon as they are used). */
export const NO_ARENA = {
  f32: (n: number) => new Float32Array(n),
  zeros: (n: number) => new Float32Array(n),
  i32: (n: number) => new Int32Array(n),
};

/** What layers allocate from. */
export type Allocator = Pick<Arena, "f32" | "zeros" | "i32">;

/// <reference lib="deno.worker" />
/** Data-parallel worker: runs `runShard` on its part of each batch; batch-wide sums go through the main thread. */
import { runShard } from "./executor.ts";
import type { GraphSpec } from "./graph.ts";
import { loadNative } from "./native/mod.ts";

const pending = new Map<string, (v: Float64Array) => void>();
let graph: GraphSpec | undefined;

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.type === "synced") {
    pending.get(msg.key)!(msg.v);
    pending.delete(msg.key);
    return;
  }
  try {
    if (msg.type === "init") {
      graph = msg.graph;
      loadNative();
      self.postMessage({ type: "ready" });
    } else if (msg.type === "run") {
      const sync = (key: string, v: Float64Array) =>
        new Promise<Float64Array>((resolve) => {
          pending.set(key, resolve);
          self.postMessage({ type: "sync", key, v });
        });
      const out = await runShard(graph!, msg.trainable, msg.state, msg.input, sync, loadNative());
      const transfer = [out.out.buffer, ...(out.grad ? [out.grad.buffer] : [])] as ArrayBuffer[];
      self.postMessage({ type: "done", out }, [...new Set(transfer)]);
    }
  } catch (err) {
    self.postMessage({ type: "error", message: String((err as Error)?.stack ?? err) });
  }
};

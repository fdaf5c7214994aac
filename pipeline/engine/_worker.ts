/// <reference lib="deno.worker" />
/** Data-parallel worker: runs `shardStep` on its part of each batch; BN sums go through the main thread. */
import { initEngine } from "./init.ts";
import { shardStep } from "./_graph.ts";

const pending = new Map<string, (v: Float64Array) => void>();
let ready: Promise<void> | null = null;

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data;
  if (msg.type === "synced") {
    pending.get(msg.key)!(msg.v);
    pending.delete(msg.key);
    return;
  }
  ready ??= initEngine({ backend: "wasm" });
  if (msg.type === "init") {
    try {
      await ready;
      self.postMessage({ type: "ready" });
    } catch (err) {
      self.postMessage({ type: "error", message: String((err as Error)?.stack ?? err) });
    }
  } else if (msg.type === "step") {
    await ready;
    const sync = (key: string, v: Float64Array) =>
      new Promise<Float64Array>((resolve) => {
        pending.set(key, resolve);
        self.postMessage({ type: "sync", key, v });
      });
    try {
      const out = await shardStep(msg.arch, msg.w, msg.input, sync);
      self.postMessage({ type: "done", out }, [out.grad.buffer as ArrayBuffer]);
    } catch (err) {
      self.postMessage({ type: "error", message: String((err as Error)?.stack ?? err) });
    }
  }
};

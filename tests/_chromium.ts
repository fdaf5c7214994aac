/**
 * Headless Chromium for the browser tests (Debian `chromium`): whether it is installed, a launch
 * that waits for its DevTools server, and a minimal DevTools-protocol client over one page.
 */

/** Whether `chromium` runs on this machine. */
export function hasChromium(): boolean {
  try {
    return new Deno.Command("chromium", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** A minimal DevTools-protocol client over one page's WebSocket. */
export class Cdp {
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      const p = msg.id && this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`CDP: ${JSON.stringify(msg.error)}`));
      else p.resolve(msg.result);
    };
  }
  static open(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new Cdp(ws));
      ws.onerror = () => reject(new Error(`Cannot open DevTools socket ${url}`));
    });
  }
  // deno-lint-ignore no-explicit-any
  send(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = this.#next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value as T;
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.onclose = () => resolve();
      this.ws.close();
    });
  }
}

/** Start chromium on `url`; resolves with the DevTools port once it listens. */
export async function launch(url: string, profile: string) {
  const child = new Deno.Command("chromium", {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--hide-scrollbars",
      "--window-size=1280,1600",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      url,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const m = text.match(/DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
    if (m) {
      // Keep draining stderr so chromium never blocks on a full pipe.
      (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done);
      })();
      return { child, port: Number(m[1]) };
    }
  }
  child.kill();
  throw new Error(`chromium did not start its DevTools server: ${text.slice(-500)}`);
}

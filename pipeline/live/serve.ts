/**
 * `infer --serve PORT`: the annotated stream live in a browser on localhost. `/` is the page
 * (the frames, FPS, per-stage timing and each face's label), `/stream.mjpg` the frames as an
 * MJPEG stream, `/frame.jpg` the latest frame, `/events` the per-frame records (server-sent
 * events). Frames are JPEG-encoded once each, however many viewers there are.
 */
import sharp from "sharp";
import type { FrameRecord } from "./run_live.ts";
import type { SegFrameRecord } from "./segment_live.ts";

/** A running live server: publish frames into it, close it when the run ends. */
export interface LiveServer {
  url: string;
  publish(
    rgb: Uint8Array,
    width: number,
    height: number,
    record: FrameRecord | SegFrameRecord,
  ): Promise<void>;
  close(): Promise<void>;
}

const BOUNDARY = "edgeslim-frame";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgeslim live</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; background: #111; color: #eee; display: flex; gap: 16px; }
img { max-width: 70vw; border: 1px solid #444; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid #333; }
#fps { font-size: 28px; font-weight: 600; } .with_mask { color: #5d5; } .without_mask { color: #f55; }
</style></head>
<body><img id="stream" src="/stream.mjpg" alt="live frames">
<div><div id="fps">– FPS</div><div id="frame">waiting for frames…</div>
<table id="times"><tr><th>stage</th><th>ms</th></tr></table><h3>faces</h3><ul id="faces"></ul></div>
<script>

const seen = [];
new EventSource("/events").onmessage = (e) => {
  const r = JSON.parse(e.data), now = performance.now();
  seen.push(now);
  while (seen.length && now - seen[0] > 2000) seen.shift();
  document.getElementById("fps").textContent = (seen.length / 2).toFixed(1) + " FPS";
  const note = r.faces ? (r.detected ? " (detected)" : " (boxes held)") : " (mask " + (100 * r.foreground).toFixed(1) + " %)";
  document.getElementById("frame").textContent = "frame " + r.frame + note;
  document.getElementById("times").innerHTML = "<tr><th>stage</th><th>ms</th></tr>" +
    Object.keys(r.ms).map((s) => "<tr><td>" + s + "</td><td>" + r.ms[s].toFixed(2) + "</td></tr>").join("");
  document.getElementById("faces").innerHTML = (r.faces || []).map((f) =>
    '<li class="' + f.label + '">' + f.label + " " + (100 * f.prob).toFixed(0) + "% at " + f.box.join(", ") + "</li>").join("");
};
</script></body></html>`;

/** Serve on 127.0.0.1:`port` (0: any free port). */
export function startLiveServer(port: number): LiveServer {
  let latest: Uint8Array | undefined;
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const events = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  const stream = (set: typeof streams, first?: Uint8Array) => {
    let me: ReadableStreamDefaultController<Uint8Array>;
    return new ReadableStream<Uint8Array>({
      start(c) {
        me = c;
        set.add(c);
        if (first) c.enqueue(first);
      },
      cancel: () => void set.delete(me),
    });
  };
  const part = (jpeg: Uint8Array) => {
    const head = encoder.encode(
      `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
    );
    const out = new Uint8Array(head.length + jpeg.length + 2);
    out.set(head);
    out.set(jpeg, head.length);
    out.set(encoder.encode("\r\n"), head.length + jpeg.length);
    return out;
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/") return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (path === "/frame.jpg") {
      return latest
        ? new Response(latest.slice(), { headers: { "content-type": "image/jpeg" } })
        : new Response("no frame yet", { status: 503 });
    }
    if (path === "/stream.mjpg") {
      return new Response(stream(streams, latest && part(latest)), {
        headers: {
          "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
          "cache-control": "no-store",
        },
      });
    }
    if (path === "/events") {
      return new Response(stream(events), {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  const send = (set: typeof streams, bytes: Uint8Array) => {
    for (const c of set) {
      try {
        c.enqueue(bytes);
      } catch {
        set.delete(c); // the viewer went away
      }
    }
  };
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`,
    async publish(rgb, width, height, record) {
      const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
      latest = new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length);
      send(streams, part(latest));
      send(events, encoder.encode(`data: ${JSON.stringify(record)}\n\n`));
    },
    async close() {
      for (const c of [...streams, ...events]) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await server.shutdown();
    },
  };
}

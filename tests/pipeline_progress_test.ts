/** Progress output: plain lines when not on a terminal, a throttled in-place bar on one. */
import assert from "node:assert/strict";
import { createLogger, createProgress, formatDuration } from "../pipeline/core/progress.ts";

Deno.test("non-TTY progress prints plain lines at 10 % steps or every 5 s, and a final line", () => {
  const lines: string[] = [];
  let t = 0;
  const p = createProgress("train teacher epoch 1/8", 100, "batch", {
    tty: false,
    write: (s) => lines.push(s),
    now: () => t,
  });
  for (let i = 0; i < 100; i++) {
    t += 10;
    p.tick(1, { loss: 0.5 - i / 1000, acc: 0.9 });
  }
  p.done({ acc: 0.95 });
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r") && !l.includes("\x1b")));
  assert.ok(lines.length >= 10 && lines.length <= 12, `${lines.length} lines`);
  assert.match(
    lines[0],
    /^train teacher epoch 1\/8 10% 10\/100 batch {2}loss 0\.491 acc 0\.9 {2}100\.0 batch\/s ETA 0:01\n$/,
  );
  assert.match(lines.at(-1)!, /^train teacher epoch 1\/8 100% 100\/100 batch .*acc 0\.95 .* in 0:01\n$/);

  // Slow work still reports every 5 s.
  const slow: string[] = [];
  let s = 0;
  const q = createProgress("fetch", 1000, "img", { tty: false, write: (x) => slow.push(x), now: () => s });
  for (let i = 0; i < 20; i++) {
    s += 1000;
    q.tick();
  }
  assert.equal(slow.length, 4);
});

Deno.test("TTY progress redraws one line in place, at most 10 times a second", () => {
  const out: string[] = [];
  let t = 0;
  const p = createProgress("train", 1000, "batch", {
    tty: true,
    write: (s) => out.push(s),
    now: () => t,
    columns: 200,
  });
  for (let i = 0; i < 1000; i++) {
    t += 1; // 1000 ticks in 1 s
    p.tick();
  }
  p.done();
  assert.ok(out.length <= 13, `${out.length} writes`);
  assert.ok(out[0].startsWith("\rtrain [") && out[0].endsWith("\x1b[K"));
  assert.match(out.at(-2)!, /100% 1000\/1000 batch/);
  assert.equal(out.at(-1), "\n");
});

Deno.test("TTY bars that run at once are drawn as a block, one line each; a finished one stays above", () => {
  const out: string[] = [];
  let t = 0;
  const opts = { tty: true, write: (s: string) => out.push(s), now: () => t, columns: 200 };
  const vis = (s: string) => s.replaceAll("\r", "CR").replaceAll("\x1b", "ESC");
  const a = createProgress("train unet_standard", 10, "batch", opts);
  const b = createProgress("train unet_depthwise", 10, "batch", opts);
  a.tick();
  t += 200;
  b.tick();
  // The second bar's first draw rewrites the first bar's line and adds its own below.
  assert.match(vis(out[1]), /^CRtrain unet_standard .*ESC\[K\ntrain unet_depthwise .*1\/10 batch.*ESC\[K$/);
  t += 200;
  a.tick();
  assert.ok(out[2].startsWith("\r\x1b[1A"), JSON.stringify(out[2])); // back up to the block's top
  a.done();
  // Cleared, the finished bar's last line printed for good, the other redrawn below it.
  assert.match(vis(out[3]), /^CRESC\[1AESC\[Jtrain unet_standard .*2\/10 batch.* in 0:00\n$/);
  assert.match(vis(out[4]), /^CRtrain unet_depthwise .*ESC\[K$/);
  b.done();
  assert.equal(out.at(-1), "\n");
  // A new bar afterwards starts a fresh block.
  createProgress("export", 2, "models", opts).tick();
  assert.ok(out.at(-1)!.startsWith("\rexport ["));
});

Deno.test("logger prefixes the stage; durations format as m:ss", () => {
  const got: [string, boolean][] = [];
  const log = createLogger("fetch", (text, warn) => got.push([text, warn]));
  log.info("wrote 1200 images");
  log.warn("cache miss");
  assert.deepEqual(got, [["[fetch] wrote 1200 images\n", false], ["[fetch] warning: cache miss\n", true]]);
  assert.equal(formatDuration(41), "0:41");
  assert.equal(formatDuration(3725), "1:02:05");
});

/**
 * Tests of the frame sources and the video writer, on the opencv-doc sample videos and images.
 * Run: npx --yes deno@2.9.6 test -A frames_test.ts
 */
import assert from "node:assert/strict";
import { ExpectedError } from "../pipeline/core/errors.ts";
import { FrameAssembler } from "../pipeline/live/frame_assembler.ts";
import { csiLaunchArgs, openFrameSource } from "../pipeline/live/frames.ts";
import { openPipeSource } from "../pipeline/live/pipe_source.ts";
import { absDiff, collect, DATA, pathWithOnly, PYTHON, testWith, withPath } from "./_live_support.ts";
import { bestVideoCodec, openVideoWriter, type VideoCodec } from "../pipeline/live/video_writer.ts";
import { seededRandom } from "../pipeline/core/random.ts";

const MEGAMIND = `${DATA}/Megamind.avi`;
const TREE = `${DATA}/tree.avi`;

/** Assert `promise` rejects with an ExpectedError whose message matches `pattern`; return the message. */
async function expectError(promise: Promise<unknown>, pattern: RegExp): Promise<string> {
  const error = await promise.then(() => undefined, (e) => e);
  assert(error instanceof ExpectedError, `expected an ExpectedError, got ${error}`);
  assert.match(error.message, pattern);
  return error.message;
}

/** Open `spec` and take all its frames. */
async function readAll(spec: string, o = {}) {
  return await collect(await openFrameSource(spec, o));
}

async function ffprobeCount(path: string): Promise<{ decoded: number; header: number }> {
  const args = ["-v", "error", "-select_streams", "v:0", "-count_frames"];
  args.push("-show_entries", "stream=nb_read_frames,nb_frames", "-of", "json", path);
  const out = await new Deno.Command("ffprobe", { args }).output();
  const stream = JSON.parse(new TextDecoder().decode(out.stdout)).streams[0];
  return { decoded: Number(stream.nb_read_frames), header: Number(stream.nb_frames) };
}

/** The first `n` frames as cv2.VideoCapture decodes them, converted BGR→RGB, concatenated. */
async function cv2Frames(path: string, n: number): Promise<Uint8Array> {
  const script = [
    "import cv2, sys",
    "cap = cv2.VideoCapture(sys.argv[1])",
    "for _ in range(int(sys.argv[2])):",
    "    ok, bgr = cap.read()",
    "    if not ok: break",
    "    sys.stdout.buffer.write(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).tobytes())",
  ].join("\n");
  const out = await new Deno.Command(PYTHON, { args: ["-c", script, path, String(n)] }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

// ---- the assembler -------------------------------------------------------------------------------

testWith("FrameAssembler: random chunk sizes give back the exact frames, and a partial tail", [], () => {
  const random = seededRandom(7);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  let chunks = 0;
  let bytes = 0;
  for (let trial = 0; trial < 300; trial++) {
    const frameBytes = int(1, 5000);
    const frames = Array.from(
      { length: int(0, 12) },
      () => Uint8Array.from({ length: frameBytes }, () => int(0, 255)),
    );
    const tail = trial % 3 === 0 ? int(1, frameBytes - 1 || 1) % frameBytes : 0;
    const stream = new Uint8Array(frames.length * frameBytes + tail);
    frames.forEach((f, i) => stream.set(f, i * frameBytes));
    stream.fill(9, frames.length * frameBytes);
    const assembler = new FrameAssembler(frameBytes);
    const got: Uint8Array[] = [];
    for (let at = 0; at < stream.length;) {
      const size = random() < 0.05 ? 0 : int(1, 3 * frameBytes);
      got.push(...assembler.push(stream.subarray(at, at + size)));
      at += size;
      chunks++;
    }
    bytes += stream.length;
    assert.deepEqual(got, frames, `trial ${trial}: frames of ${frameBytes} bytes`);
    assert.equal(assembler.pendingBytes, tail, `trial ${trial}: partial tail`);
  }
  console.log(`assembler: 300 streams, ${bytes} bytes in ${chunks} random chunks (0..3 frames each): exact`);
  assert.throws(() => new FrameAssembler(0), RangeError);
});

// ---- videos --------------------------------------------------------------------------------------

testWith(
  "video: frame count equals ffprobe -count_frames; frames are whole",
  ["ffmpeg", "data"],
  async () => {
    for (const path of [MEGAMIND, TREE]) {
      const start = performance.now();
      const source = await openFrameSource(path);
      let frames = 0;
      let waitMs = 0;
      for await (const frame of source) {
        assert.equal(frame.index, frames++);
        assert.equal(frame.rgb.length, source.width * source.height * 3);
        waitMs += frame.captureMs;
      }
      const wallMs = performance.now() - start;
      const probe = await ffprobeCount(path);
      console.log(
        `${path.split("/").pop()}: ${source.width}x${source.height} @ ${source.fps?.toFixed(3)} fps, ` +
          `${frames} frames (ffprobe -count_frames ${probe.decoded}, header nb_frames ${probe.header}), ` +
          `${wallMs.toFixed(0)} ms wall, captureMs sum ${waitMs.toFixed(0)}`,
      );
      assert.equal(frames, probe.decoded);
    }
  },
);

testWith("video: Deno hands the pipe over in chunks that split frames", ["ffmpeg", "data"], async () => {
  const args = ["-v", "error", "-i", MEGAMIND, "-frames:v", "20", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"];
  const child = new Deno.Command("ffmpeg", { args, stdout: "piped", stderr: "null" }).spawn();
  const sizes: number[] = [];
  for await (const chunk of child.stdout) sizes.push(chunk.length);
  await child.status;
  const frameBytes = 720 * 528 * 3;
  let offset = 0;
  let framesStartingMidChunk = 0;
  for (const size of sizes) {
    const firstFrameStart = Math.ceil(offset / frameBytes) * frameBytes;
    if (firstFrameStart > offset && firstFrameStart < offset + size) framesStartingMidChunk++;
    offset += size;
  }
  console.log(
    `pipe chunks for 20 frames of ${frameBytes} bytes: ${sizes.length} chunks of ${Math.min(...sizes)}..` +
      `${Math.max(...sizes)} bytes; ${framesStartingMidChunk} of the 20 frames begin inside a chunk`,
  );
  assert.equal(offset, 20 * frameBytes);
});

testWith(
  "video: the first frames equal cv2.VideoCapture's (BGR→RGB)",
  ["ffmpeg", "data", "cv2"],
  async () => {
    const n = 5;
    for (const path of [MEGAMIND, TREE]) {
      const ours = await readAll(path, { maxFrames: n });
      const theirs = await cv2Frames(path, n);
      const frameBytes = ours[0].rgb.length;
      assert.equal(theirs.length, n * frameBytes);
      const diffs = ours.map((f, i) => absDiff(f.rgb, theirs.subarray(i * frameBytes, (i + 1) * frameBytes)));
      console.log(
        `${path.split("/").pop()} first ${n} frames vs cv2: max abs diff ${
          diffs.map((d) => d.max).join(", ")
        }`,
      );
      assert(diffs.every((d) => d.max === 0));
    }
  },
);

testWith("video: maxFrames stops early, width alone keeps the aspect ratio", ["ffmpeg", "data"], async () => {
  const source = await openFrameSource(MEGAMIND, { width: 360, maxFrames: 10 });
  const frames = await collect(source);
  assert.deepEqual([source.width, source.height, frames.length], [360, 264, 10]);
  assert(frames.every((f) => f.rgb.length === 360 * 264 * 3));
  const resampled = await openFrameSource(MEGAMIND, { fps: 10 });
  const count = (await collect(resampled)).length;
  console.log(`Megamind.avi resampled to 10 fps: ${count} frames (270 / 23.976 * 10 = 112.6)`);
  assert(Math.abs(count - 112.6) < 1.5);
});

testWith("video: rotation metadata swaps width and height", ["ffmpeg"], async () => {
  const dir = await Deno.makeTempDir();
  const plain = `${dir}/plain.mp4`;
  const turned = `${dir}/turned.mp4`;
  const make = ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x96:rate=10", "-frames:v", "5", plain];
  assert((await new Deno.Command("ffmpeg", { args: make }).output()).success);
  const rotate = ["-v", "error", "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", turned];
  assert((await new Deno.Command("ffmpeg", { args: rotate }).output()).success);
  const source = await openFrameSource(turned);
  assert.deepEqual([source.width, source.height, (await collect(source)).length], [96, 160, 5]);
  await Deno.remove(dir, { recursive: true });
});

testWith("video: breaking out of the loop or close() stops an endless ffmpeg", ["ffmpeg"], async () => {
  const endless = {
    command: "ffmpeg",
    args: ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=1000", "-f", "rawvideo"]
      .concat(["-pix_fmt", "rgb24", "-"]),
    kind: "video" as const,
    label: "endless testsrc",
    width: 64,
    height: 48,
  };
  let taken = 0;
  for await (const _ of openPipeSource(endless)) if (++taken === 3) break;
  const source = openPipeSource(endless);
  const iterator = source[Symbol.asyncIterator]();
  assert.equal((await iterator.next()).done, false);
  const start = performance.now();
  await source.close();
  console.log(`close() of a running ffmpeg: ${(performance.now() - start).toFixed(1)} ms`);
  assert.equal((await iterator.next()).done, true);
});

// ---- GStreamer ---------------------------------------------------------------------------------

testWith("gst-launch-1.0 -q … fdsink fd=1 delivers whole RGB frames", ["gst"], async () => {
  const args = ["-q", "videotestsrc", "pattern=red", "num-buffers=10", "!"]
    .concat(["video/x-raw,width=320,height=240,format=RGB,framerate=30/1", "!", "fdsink", "fd=1"]);
  const frames = await collect(
    openPipeSource({
      command: "gst-launch-1.0",
      args,
      kind: "csi",
      label: "videotestsrc",
      width: 320,
      height: 240,
    }),
  );
  assert.equal(frames.length, 10);
  assert.deepEqual([...frames[9].rgb.subarray(0, 6)], [255, 0, 0, 255, 0, 0]);
  const csi = csiLaunchArgs(0, 1280, 720, 30, 5);
  assert.deepEqual(csi.slice(0, 4), ["-q", "nvarguscamerasrc", "sensor-id=0", "num-buffers=5"]);
  assert.deepEqual(csi.slice(-3), ["!", "fdsink", "fd=1"]);
});

testWith(
  "csi: a missing nvarguscamerasrc, gst-launch-1.0, or a width GStreamer would pad",
  ["gst"],
  async () => {
    const noElement = await expectError(openFrameSource("csi"), /nvarguscamerasrc is missing/);
    const noGst = await withPath(
      await pathWithOnly([]),
      () => expectError(openFrameSource("csi"), /gst-launch-1.0 not found/),
    );
    await expectError(
      openFrameSource("csi", { width: 642, height: 480 }),
      /width 642 must be a multiple of 4/,
    );
    console.log(`csi errors: "${noElement}" / "${noGst}"`);
  },
);

// ---- images --------------------------------------------------------------------------------------

testWith("image: one frame, the same bytes as cv2.imread (BGR→RGB)", ["data", "cv2"], async () => {
  const path = `${DATA}/messi5.jpg`;
  const source = await openFrameSource(path);
  const frames = await collect(source);
  const script =
    "import cv2,sys; sys.stdout.buffer.write(cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB).tobytes())";
  const theirs = (await new Deno.Command(PYTHON, { args: ["-c", script, path] }).output()).stdout;
  const diff = absDiff(frames[0].rgb, theirs);
  console.log(`messi5.jpg ${source.width}x${source.height} vs cv2.imread: max abs diff ${diff.max}`);
  assert.deepEqual([source.kind, frames.length, frames[0].path], ["image", 1, path]);
  assert.equal(diff.max, 0);
});

testWith("folder: images in name order at one size, corrupt ones skipped and listed", ["data"], async () => {
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(`${DATA}/messi5.jpg`, `${dir}/frame1.jpg`);
  await Deno.writeFile(`${dir}/frame2.jpg`, crypto.getRandomValues(new Uint8Array(2000)));
  await Deno.writeFile(`${dir}/frame3.jpg`, (await Deno.readFile(`${DATA}/messi5.jpg`)).subarray(0, 30000));
  await Deno.copyFile(`${DATA}/box.png`, `${dir}/frame10.png`);
  await Deno.writeTextFile(`${dir}/notes.txt`, "not an image");
  const source = await openFrameSource(dir);
  const frames = await collect(source);
  assert.equal(source.kind, "folder");
  assert.deepEqual(frames.map((f) => f.path!.split("/").pop()), ["frame1.jpg", "frame10.png"]);
  assert(frames.every((f) => f.rgb.length === 548 * 342 * 3));
  assert.deepEqual(source.skipped.map((s) => s.path.split("/").pop()), ["frame2.jpg", "frame3.jpg"]);
  console.log(
    `folder skipped: ${source.skipped.map((s) => `${s.path.split("/").pop()} (${s.reason})`).join("; ")}`,
  );
  await expectError(
    readAll(dir, { maxFrames: 5 }),
    /ended after 2 frames \(2 skipped as undecodable\), before the 5/,
  );
  await Deno.remove(dir, { recursive: true });
});

// ---- errors --------------------------------------------------------------------------------------

testWith("errors: a missing file, a missing or non-camera device, bad options", [], async () => {
  await expectError(openFrameSource("/no/such/clip.mp4"), /input "\/no\/such\/clip.mp4" not found/);
  console.log(
    `/dev/video9: "${await expectError(openFrameSource("/dev/video9"), /camera \/dev\/video9 not found/)}"`,
  );
  await expectError(openFrameSource("v4l2:/etc/hostname"), /camera \/etc\/hostname is not a camera/);
  await expectError(
    openFrameSource("x.mp4", { maxFrames: 0 }),
    /option maxFrames must be a positive integer/,
  );
});

testWith("errors: a character device that is not a camera", ["ffmpeg"], async () => {
  const message = await expectError(
    readAll("v4l2:/dev/null"),
    /camera \/dev\/null.*not a V4L2 capture device/,
  );
  console.log(`v4l2:/dev/null: "${message}"`);
});

testWith("errors: ffprobe or ffmpeg missing from PATH", ["ffmpeg", "data"], async () => {
  const noTools = await withPath(
    await pathWithOnly([]),
    () => expectError(openFrameSource(MEGAMIND), /ffprobe not found on PATH/),
  );
  const onlyProbe = await pathWithOnly(["ffprobe"]);
  const noFfmpeg = await withPath(
    onlyProbe,
    () => expectError(openFrameSource(MEGAMIND), /ffmpeg not found on PATH/),
  );
  await withPath(
    onlyProbe,
    () => expectError(openVideoWriter("/tmp/x.mp4", 8, 8, 10), /ffmpeg not found on PATH/),
  );
  console.log(`missing tools: "${noTools}" / "${noFfmpeg}"`);
});

testWith(
  "errors: a source that ends before maxFrames, a truncated file, a partial frame",
  ["ffmpeg", "data"],
  async () => {
    console.log(
      `maxFrames 300: "${await expectError(
        readAll(MEGAMIND, { maxFrames: 300 }),
        /ended after 270 frames, before the 300 asked/,
      )}"`,
    );
    const dir = await Deno.makeTempDir();
    const truncated = `${dir}/truncated.avi`;
    const bytes = await Deno.readFile(MEGAMIND);
    await Deno.writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    const message = await expectError(
      readAll(truncated, { maxFrames: 270 }),
      /ended after \d+ frames, before the 270 asked/,
    );
    console.log(`first 40% of Megamind.avi: "${message.slice(0, 300)}"`);
    const frameBytes = 16 * 8 * 3;
    const partial = openPipeSource({
      command: "sh",
      args: ["-c", `head -c ${2 * frameBytes + 100} /dev/zero`],
      kind: "video",
      label: "short pipe",
      width: 16,
      height: 8,
    });
    await expectError(collect(partial), /short pipe ended on a partial frame: frame 2 has 100 bytes of 384/);
    const failing = openPipeSource({
      command: "sh",
      args: ["-c", `head -c ${frameBytes} /dev/zero; echo "camera unplugged" >&2; exit 3`],
      kind: "v4l2",
      label: "failing pipe",
      width: 16,
      height: 8,
    });
    await expectError(
      collect(failing),
      /failing pipe: sh failed \(exit code 3\) after 1 frames; sh said: camera unplugged/,
    );
    await Deno.remove(dir, { recursive: true });
  },
);

// ---- the writer ----------------------------------------------------------------------------------

testWith("writer: 30 frames round-trip through ffmpeg, with backpressure", ["ffmpeg", "data"], async () => {
  const originals = await readAll(MEGAMIND, { maxFrames: 30 });
  const dir = await Deno.makeTempDir();
  const codecs: VideoCodec[] = [...new Set([await bestVideoCodec(), "mpeg4" as const])];
  for (const codec of codecs) {
    const path = `${dir}/round_trip_${codec}.mp4`;
    const writer = await openVideoWriter(path, 720, 528, 24, { codec });
    const writeStart = performance.now();
    for (const frame of originals) await writer.write(frame.rgb);
    const writeMs = performance.now() - writeStart;
    assert.equal(
      await Deno.stat(path).then(() => true, () => false),
      false,
      "no file at the target before close",
    );
    const closeStart = performance.now();
    await writer.close();
    const closeMs = performance.now() - closeStart;
    const source = await openFrameSource(path);
    const back = await collect(source);
    assert.deepEqual([source.width, source.height, back.length], [720, 528, 30]);
    const diffs = back.map((f, i) => absDiff(f.rgb, originals[i].rgb));
    const mean = diffs.reduce((s, d) => s + d.mean, 0) / diffs.length;
    const size = (await Deno.stat(path)).size;
    console.log(
      `writer ${codec}: 30 frames 720x528, writes ${writeMs.toFixed(0)} ms, close ${
        closeMs.toFixed(0)
      } ms, ` +
        `${size} bytes; read back mean abs error ${mean.toFixed(2)}, worst frame mean ${
          Math.max(...diffs.map((d) => d.mean)).toFixed(2)
        }`,
    );
    assert(mean < 4, `mean abs error ${mean}`);
  }
  assert.deepEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
    codecs.map((c) => `round_trip_${c}.mp4`).sort(),
  );
  await Deno.remove(dir, { recursive: true });
});

testWith(
  "writer: odd sizes are padded; abort, no frames and wrong sizes leave no file",
  ["ffmpeg"],
  async () => {
    const dir = await Deno.makeTempDir();
    const odd = await openVideoWriter(`${dir}/odd.mkv`, 33, 17, 10);
    for (let i = 0; i < 3; i++) await odd.write(new Uint8Array(33 * 17 * 3).fill(i * 80));
    await odd.close();
    const back = await openFrameSource(`${dir}/odd.mkv`);
    assert.deepEqual([back.width, back.height, (await collect(back)).length], [34, 18, 3]);

    const aborted = await openVideoWriter(`${dir}/aborted.mp4`, 32, 32, 10);
    await aborted.write(new Uint8Array(32 * 32 * 3));
    await assert.rejects(aborted.write(new Uint8Array(5)), RangeError);
    await aborted.abort();
    const empty = await openVideoWriter(`${dir}/empty.mp4`, 32, 32, 10);
    await expectError(empty.close(), /no frames were written/);
    const unknownFormat = await openVideoWriter(`${dir}/clip.xyz`, 32, 32, 10);
    const failure = (async () => {
      for (let i = 0; i < 1000; i++) await unknownFormat.write(new Uint8Array(32 * 32 * 3));
      await unknownFormat.close();
    })();
    console.log(`writer to .xyz: "${await expectError(failure, /ffmpeg said: .*suitable output format/)}"`);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["odd.mkv"]);
    await Deno.remove(dir, { recursive: true });
  },
);

testWith("writer: a run killed midway leaves no file at the target path", ["ffmpeg"], async () => {
  const dir = await Deno.makeTempDir();
  const target = `${dir}/killed.mp4`;
  const code = `
    import { openVideoWriter } from ${
    JSON.stringify(new URL("../pipeline/live/video_writer.ts", import.meta.url).href)
  };
    const writer = await openVideoWriter(${JSON.stringify(target)}, 320, 240, 30);
    for (let i = 0; ; i++) {
      await writer.write(new Uint8Array(320 * 240 * 3).fill(i % 256));
      if (i === 20) console.log("wrote 20");
    }`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /wrote 20/);
  child.kill("SIGKILL");
  await reader.cancel();
  await child.status;
  assert.equal(await Deno.stat(target).then(() => true, () => false), false);
  // ffmpeg, orphaned, finishes its temp file on stdin EOF; wait for it before listing.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const left = [...Deno.readDirSync(dir)].map((e) => e.name);
  console.log(`killed writer: target absent; left beside it: ${left.join(", ") || "nothing"}`);
  assert(left.every((name) => name.startsWith(".killed.mp4.tmp-")));
  await Deno.remove(dir, { recursive: true });
});

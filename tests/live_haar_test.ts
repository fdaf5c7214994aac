/**
 * haar.ts against python3-opencv: same box count and every box matched at IoU ≥ 0.9, on real photos and
 * video frames from opencv-doc, both sides fed identical RGB24 bytes. Without python3-opencv, ffmpeg or the
 * data files these tests skip, unless CI=true, where they fail.
 */
import assert from "node:assert/strict";
import { ExpectedError } from "../pipeline/core/errors.ts";
import {
  type Box,
  createHaarDetector,
  type DetectOptions,
  type HaarDetector,
  loadOpenCv,
} from "../pipeline/live/haar.ts";
import {
  CASCADE,
  decodePhoto,
  decodeVideo,
  frameAt,
  type Frames,
  missingRequirements,
  PHOTOS,
  pythonBoxes,
  pythonOpenCvVersion,
  VIDEO,
} from "../pipeline/live/opencv_reference.ts";

const SETTINGS: DetectOptions[] = [
  { scaleFactor: 1.1, minNeighbors: 5, minSize: 60, detectScale: 1 },
  { scaleFactor: 1.2, minNeighbors: 3, minSize: 30, detectScale: 1 },
  { scaleFactor: 1.1, minNeighbors: 5, minSize: 60, detectScale: 0.5 },
];
const MIN_IOU = 0.9;
const VIDEO_EVERY = 5;

const missing = await missingRequirements();
const inCi = Deno.env.get("CI") === "true";
if (missing.length > 0 && !inCi) {
  console.warn(`haar_test: skipping the python3-opencv parity tests, missing: ${missing.join(", ")}`);
}
/** Parity tests run when everything is there, and also in CI, where they then fail on what is missing. */
const parityTest = { ignore: missing.length > 0 && !inCi };

function requireEverything(): void {
  if (missing.length > 0) throw new Error(`CI=true, yet the parity test lacks: ${missing.join(", ")}`);
}

Deno.test("loadOpenCv initialises the wasm runtime once and shares it", async () => {
  const [first, second] = await Promise.all([loadOpenCv(), loadOpenCv()]);
  assert.ok(first === second && typeof first.cv.CascadeClassifier === "function");
  console.log(`opencv.js ready in ${first.readyMs.toFixed(0)} ms`);
});

Deno.test("createHaarDetector names a missing cascade path", async () => {
  const path = "/nonexistent/haarcascade_frontalface_default.xml";
  await assert.rejects(() => createHaarDetector(path), expectedErrorMentioning(path));
});

Deno.test("createHaarDetector names a cascade path it cannot parse", async () => {
  for (
    const content of ["not xml at all", '<?xml version="1.0"?>\n<opencv_storage><a>1</a></opencv_storage>\n']
  ) {
    const path = await Deno.makeTempFile({ suffix: ".xml" });
    try {
      await Deno.writeTextFile(path, content);
      await assert.rejects(
        () => createHaarDetector(path),
        expectedErrorMentioning(`"${path}" cannot be parsed`),
      );
    } finally {
      await Deno.remove(path);
    }
  }
});

Deno.test({
  name: "detect refuses a frame whose bytes do not match its size, and any call after dispose",
  ...parityTest,
  fn: async () => {
    requireEverything();
    const options = SETTINGS[0];
    const detector = await createHaarDetector(CASCADE);
    assert.throws(() => detector.detect(new Uint8Array(10), 4, 4, options), expectedErrorMentioning("4x4"));
    detector.dispose();
    assert.throws(() => detector.detect(new Uint8Array(48), 4, 4, options), /after dispose/);
  },
});

Deno.test({
  name: "detect matches python3-opencv on real photographs",
  ...parityTest,
  fn: async () => {
    requireEverything();
    console.log(`python3-opencv ${await pythonOpenCvVersion()}`);
    await withDetector(async (detector) => {
      for (const path of PHOTOS) {
        const photo = await decodePhoto(path);
        const python = await pythonBoxes(photo, SETTINGS);
        SETTINGS.forEach((options, s) => {
          const label = `${basename(path)} ${photo.width}x${photo.height} ${describe(options)}`;
          assertSameBoxes(
            label,
            detector.detect(photo.rgb, photo.width, photo.height, options),
            python[s][0],
          );
        });
      }
    });
  },
});

Deno.test({
  name: `detect matches python3-opencv on every ${VIDEO_EVERY}th frame of Megamind.avi`,
  ...parityTest,
  fn: async () => {
    requireEverything();
    const video = await decodeVideo(VIDEO, VIDEO_EVERY);
    const python = await pythonBoxes(video, SETTINGS);
    await withDetector((detector) => {
      SETTINGS.forEach((options, s) => assertSameVideoBoxes(detector, video, options, python[s]));
      return Promise.resolve();
    });
  },
});

Deno.test({
  name: "detect frees every cv.Mat and keeps wasm memory flat over 500 calls",
  ...parityTest,
  fn: async () => {
    requireEverything();
    const photo = await decodePhoto(PHOTOS[3]);
    const options = { scaleFactor: 1.2, minNeighbors: 3, minSize: 60, detectScale: 0.33 };
    const { cv } = await loadOpenCv();
    await withDetector(async (detector) => {
      const detectOnce = () => detector.detect(photo.rgb, photo.width, photo.height, options);
      for (let i = 0; i < 20; i++) detectOnce();
      const heapBefore = cv.HEAPU8.buffer.byteLength;
      const made = await tracingOpenCvObjects(() => {
        for (let i = 0; i < 500; i++) assert.equal(detectOnce().length, 3);
      });
      const heapAfter = cv.HEAPU8.buffer.byteLength;
      console.log(
        `500 calls: ${made.length} cv objects made, ${made.filter(isLive).length} left; ` +
          `wasm heap ${heapBefore} -> ${heapAfter} bytes`,
      );
      assert.equal(made.filter(isLive).length, 0);
      assert.equal(heapAfter, heapBefore);
    });
  },
});

function expectedErrorMentioning(text: string): (e: unknown) => boolean {
  return (e) => e instanceof ExpectedError && e.message.includes(text);
}

async function withDetector(use: (detector: HaarDetector) => Promise<void>): Promise<void> {
  const detector = await createHaarDetector(CASCADE);
  try {
    await use(detector);
  } finally {
    detector.dispose();
  }
}

function assertSameVideoBoxes(
  detector: HaarDetector,
  video: Frames,
  options: DetectOptions,
  python: Box[][],
) {
  let [ours, theirs, minIou] = [0, 0, 1];
  for (let f = 0; f < video.count; f++) {
    const boxes = detector.detect(frameAt(video, f), video.width, video.height, options);
    minIou = Math.min(minIou, assertSameBoxes(`frame ${f * VIDEO_EVERY}`, boxes, python[f], false));
    [ours, theirs] = [ours + boxes.length, theirs + python[f].length];
  }
  console.log(
    `Megamind.avi ${video.count} frames ${video.width}x${video.height} ${describe(options)}: ` +
      `boxes ours/python ${ours}/${theirs}, min IoU ${minIou.toFixed(3)}`,
  );
}

/** Asserts both lists hold the same boxes in any order (IoU ≥ MIN_IOU each) and returns the lowest IoU. */
function assertSameBoxes(label: string, ours: Box[], python: Box[], print = true): number {
  const ious = matchedIous(ours, python);
  const minIou = Math.min(1, ...ious);
  if (print) {
    console.log(
      `${label}: count ours/python ${ours.length}/${python.length}, min IoU ${
        ious.length ? minIou.toFixed(3) : "-"
      }`,
    );
  }
  assert.equal(ours.length, python.length, `${label}: box count, ours ${ours} vs python ${python}`);
  assert.ok(minIou >= MIN_IOU, `${label}: a box matched at IoU ${minIou}, ours ${ours} vs python ${python}`);
  return minIou;
}

/** Pairs boxes greedily, best IoU first (python's threads may order its boxes differently). */
function matchedIous(ours: Box[], python: Box[]): number[] {
  const pairs = ours.flatMap((a, i) => python.map((b, j) => ({ i, j, iou: iou(a, b) })));
  pairs.sort((p, q) => q.iou - p.iou);
  const [usedOurs, usedPython, ious] = [new Set<number>(), new Set<number>(), [] as number[]];
  for (const { i, j, iou } of pairs) {
    if (usedOurs.has(i) || usedPython.has(j)) continue;
    [usedOurs.add(i), usedPython.add(j), ious.push(iou)];
  }
  return ious;
}

function iou([ax, ay, aw, ah]: Box, [bx, by, bw, bh]: Box): number {
  const overlapW = Math.max(0, Math.min(ax + aw, bx + bw) - Math.max(ax, bx));
  const overlapH = Math.max(0, Math.min(ay + ah, by + bh) - Math.max(ay, by));
  const overlap = overlapW * overlapH;
  return overlap / (aw * ah + bw * bh - overlap);
}

interface OpenCvObject {
  isDeleted(): boolean;
}

function isLive(object: OpenCvObject): boolean {
  return !object.isDeleted();
}

/** Runs `body` while recording every cv.Mat and cv.RectVector constructed, then restores the constructors. */
async function tracingOpenCvObjects(body: () => void): Promise<OpenCvObject[]> {
  const cv = (await loadOpenCv()).cv as unknown as Record<string, new (...args: unknown[]) => OpenCvObject>;
  const originals = { Mat: cv.Mat, RectVector: cv.RectVector };
  const made: OpenCvObject[] = [];
  const recordConstruction = {
    construct(target: new (...args: unknown[]) => OpenCvObject, args: unknown[]) {
      const object = Reflect.construct(target, args);
      made.push(object);
      return object;
    },
  };
  try {
    for (const [name, constructor] of Object.entries(originals)) {
      cv[name] = new Proxy(constructor, recordConstruction);
    }
    body();
  } finally {
    Object.assign(cv, originals);
  }
  return made;
}

function describe({ scaleFactor, minNeighbors, minSize, detectScale }: DetectOptions): string {
  return `${scaleFactor}/${minNeighbors}/${minSize} detectScale ${detectScale}`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

Deno.test("opencv.js still loads after LiteRT.js in the same process (the pipeline's export, then live)", async () => {
  const { loadLiteRt } = await import("../pipeline/export/tflite/litert.ts");
  await loadLiteRt();
  // LiteRT's loader needs a global importScripts; left behind, opencv.js takes itself for a worker.
  assert.equal((globalThis as Record<string, unknown>).importScripts, undefined);
  const { cv } = await loadOpenCv();
  assert.equal(typeof cv.CascadeClassifier, "function");
});

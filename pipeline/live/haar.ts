/**
 * Face detection with OpenCV's Haar cascades, run in Deno through opencv.js (the single-file wasm build
 * published on npm as `@techstark/opencv-js`). Load the runtime once, build a detector from a cascade XML,
 * feed it packed RGB24 frames, dispose of it when done.
 *
 * @module
 */
import type * as OpenCvApi from "@techstark/opencv-js";
import { ExpectedError } from "../core/errors.ts";

/** opencv.js once ready: its typed API plus the emscripten runtime parts its typings leave out. */
export type OpenCv = typeof OpenCvApi & { HEAPU8: Uint8Array; FS_unlink(path: string): void };

/** The ready runtime, and the milliseconds it took to import and initialise it. */
export interface LoadedOpenCv {
  cv: OpenCv;
  readyMs: number;
}

/** Settings of one detection: OpenCV's detectMultiScale parameters plus a downscale applied first. */
export interface DetectOptions {
  /** Step between pyramid scales, e.g. 1.1. */
  scaleFactor: number;
  /** Neighbouring hits a candidate needs to be kept, e.g. 5. */
  minNeighbors: number;
  /** Smallest face side, in full-frame pixels. */
  minSize: number;
  /** Detect on the frame resized by this factor (0 < detectScale ≤ 1); boxes stay in full-frame pixels. */
  detectScale: number;
}

/** A detected face in full-frame pixels: [x, y, width, height]. */
export type Box = [number, number, number, number];

/** How frames are downscaled when detectScale < 1: area averaging, which does not alias at small scales. */
export const DOWNSCALE_INTERPOLATION = "INTER_AREA";

let loading: Promise<LoadedOpenCv> | undefined;

/** Imports and initialises the opencv.js wasm runtime on first call; later calls share that same runtime. */
export function loadOpenCv(): Promise<LoadedOpenCv> {
  loading ??= importAndInitialise();
  return loading;
}

async function importAndInitialise(): Promise<LoadedOpenCv> {
  const start = performance.now();
  const { default: module } = await import("@techstark/opencv-js");
  const cv = await runtimeReady(module as unknown as EmscriptenModule);
  return { cv, readyMs: performance.now() - start };
}

type EmscriptenModule = OpenCv & { onRuntimeInitialized?: () => void; then?: unknown };

// opencv.js 4.x exports the emscripten Module itself; its wasm is compiled asynchronously after import.
async function runtimeReady(cv: EmscriptenModule): Promise<OpenCv> {
  if (typeof cv.Mat !== "function") {
    await new Promise<void>((resolve) => cv.onRuntimeInitialized = resolve);
  }
  // The Module's `then` calls back with the Module itself: awaiting or resolving with it loops forever.
  delete cv.then;
  return cv;
}

/** Reads the cascade XML at `cascadePath` and returns a detector for it (see {@link HaarDetector.load}). */
export function createHaarDetector(cascadePath: string): Promise<HaarDetector> {
  return HaarDetector.load(cascadePath);
}

let cascadeFilesWritten = 0;

/** An OpenCV CascadeClassifier living in the wasm heap; call dispose() to free it. */
export class HaarDetector {
  #cv: OpenCv;
  #classifier: OpenCvApi.CascadeClassifier | undefined;

  private constructor(cv: OpenCv, classifier: OpenCvApi.CascadeClassifier) {
    this.#cv = cv;
    this.#classifier = classifier;
  }

  /**
   * Loads the cascade XML at `cascadePath`, e.g.
   * /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml. Throws ExpectedError naming the
   * path when the file is missing or is not a cascade OpenCV can parse.
   */
  static async load(cascadePath: string): Promise<HaarDetector> {
    const xml = await readCascadeFile(cascadePath);
    const { cv } = await loadOpenCv();
    return new HaarDetector(cv, parseCascade(cv, xml, cascadePath));
  }

  /**
   * Finds faces in `rgb`, a packed RGB24 frame of `width` × `height` pixels, and returns their boxes in
   * full-frame pixels, in OpenCV's order. Every cv.Mat made on the way is freed before returning.
   */
  detect(rgb: Uint8Array, width: number, height: number, options: DetectOptions): Box[] {
    const classifier = this.#usableClassifier();
    checkFrame(rgb, width, height);
    checkOptions(options);
    const cv = this.#cv;
    const frame = new cv.Mat(height, width, cv.CV_8UC3);
    const gray = new cv.Mat();
    const small = new cv.Mat();
    const found = new cv.RectVector();
    try {
      frame.data.set(rgb);
      cv.cvtColor(frame, gray, cv.COLOR_RGB2GRAY);
      const input = downscale(cv, gray, small, options.detectScale);
      const minSide = Math.max(1, Math.round(options.minSize * options.detectScale));
      const { scaleFactor, minNeighbors } = options;
      const [minSize, noMaxSize] = [new cv.Size(minSide, minSide), new cv.Size(0, 0)];
      classifier.detectMultiScale(input, found, scaleFactor, minNeighbors, 0, minSize, noMaxSize);
      return toFullFrameBoxes(found, width / input.cols, height / input.rows);
    } finally {
      for (const owned of [frame, gray, small, found]) owned.delete();
    }
  }

  /** Frees the classifier; the detector cannot be used afterwards. Calling it twice is harmless. */
  dispose(): void {
    this.#classifier?.delete();
    this.#classifier = undefined;
  }

  #usableClassifier(): OpenCvApi.CascadeClassifier {
    if (!this.#classifier) throw new Error("HaarDetector.detect() called after dispose()");
    return this.#classifier;
  }
}

async function readCascadeFile(cascadePath: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(cascadePath);
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound ? "no such file" : String(e);
    throw new ExpectedError(
      `Haar cascade "${cascadePath}" cannot be read (${reason}); pass the path of a cascade XML`,
    );
  }
}

// CascadeClassifier.load only reads the emscripten FS, so the XML is written there, parsed, then removed.
function parseCascade(cv: OpenCv, xml: Uint8Array, cascadePath: string): OpenCvApi.CascadeClassifier {
  const fsName = `cascade_${cascadeFilesWritten++}.xml`;
  cv.FS_createDataFile("/", fsName, xml, true, false, false);
  const classifier = new cv.CascadeClassifier();
  try {
    if (!classifier.load(fsName) || classifier.empty()) throw new Error("not a cascade classifier");
    return classifier;
  } catch (e) {
    classifier.delete();
    throw new ExpectedError(`Haar cascade "${cascadePath}" cannot be parsed: ${openCvMessage(cv, e)}`);
  } finally {
    cv.FS_unlink(`/${fsName}`);
  }
}

// opencv.js throws C++ exceptions as bare pointers into the wasm heap.
function openCvMessage(cv: OpenCv, e: unknown): string {
  if (typeof e === "number") return String(cv.exceptionFromPtr(e).msg).trim();
  return e instanceof Error ? e.message : String(e);
}

function checkFrame(rgb: Uint8Array, width: number, height: number): void {
  const sizeIsValid = Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0;
  const expectedBytes = width * height * 3;
  if (!sizeIsValid || rgb.length !== expectedBytes) {
    throw new ExpectedError(
      `an RGB24 frame of ${width}x${height} holds ${expectedBytes} bytes, got ${rgb.length}`,
    );
  }
}

function checkOptions({ scaleFactor, minNeighbors, minSize, detectScale }: DetectOptions): void {
  if (!(scaleFactor > 1)) throw new ExpectedError(`scaleFactor must be > 1, got ${scaleFactor}`);
  if (!(minNeighbors >= 0)) throw new ExpectedError(`minNeighbors must be ≥ 0, got ${minNeighbors}`);
  if (!(minSize >= 0)) throw new ExpectedError(`minSize must be ≥ 0 pixels, got ${minSize}`);
  if (!(detectScale > 0 && detectScale <= 1)) {
    throw new ExpectedError(`detectScale must be in (0, 1], got ${detectScale}`);
  }
}

function downscale(cv: OpenCv, gray: OpenCvApi.Mat, small: OpenCvApi.Mat, scale: number): OpenCvApi.Mat {
  if (scale === 1) return gray;
  const width = Math.max(1, Math.round(gray.cols * scale));
  const height = Math.max(1, Math.round(gray.rows * scale));
  cv.resize(gray, small, new cv.Size(width, height), 0, 0, cv[DOWNSCALE_INTERPOLATION]);
  return small;
}

function toFullFrameBoxes(found: OpenCvApi.RectVector, scaleX: number, scaleY: number): Box[] {
  const boxes: Box[] = [];
  for (let i = 0; i < found.size(); i++) {
    const { x, y, width, height } = found.get(i);
    boxes.push([
      Math.round(x * scaleX),
      Math.round(y * scaleY),
      Math.round(width * scaleX),
      Math.round(height * scaleY),
    ]);
  }
  return boxes;
}

/**
 * `deno task infer`: live mask classification on a camera, a video, an image or a folder.
 *
 *   deno task infer --source VIDEO|IMAGE|FOLDER|/dev/video0|csi [--model teacher_p50|FILE.onnx]
 *     [--format fp32|int8] [--profile quick] [--json] [--out annotated.mp4] [--frames N]
 *     [--detect-scale 0.5] [--detect-every 1] [--scale-factor 1.1] [--min-neighbors 5]
 *     [--min-size 60] [--cascade haarcascade_frontalface_default.xml] [--width W --height H]
 *     [--serve PORT] [--draw] [--task segmentation] [--device NAME [--pipeline pipeline.yaml]]
 *
 * `--json` prints one JSON object per frame (faces with box, label, prob; ms per stage) and a
 * final summary line (frames, FPS, per-stage medians); without it a line per second goes to
 * stderr and the summary table at the end. `--serve PORT` shows the annotated stream, FPS and
 * per-stage times on http://127.0.0.1:PORT/ while it runs (0: a free port; the URL goes to
 * stderr); `--draw` draws the boxes even with no output, to time it. `--task segmentation` runs
 * a U-Net of seg_export instead and blends its mask. `--device NAME` runs all this on a board of
 * the bench stage (remote_infer.ts). An expected failure (no camera, no ffmpeg, a bad model path,
 * a video that ends before `--frames`, a board that drops the link) prints its message alone and
 * exits 1.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ExpectedError, isExpected } from "../core/errors.ts";
import { facesText, type FrameRecord, type LiveSummary, openLive } from "./run_live.ts";
import { openSegmentLive, type SegFrameRecord, type SegSummary } from "./segment_live.ts";
import type { FrameSource } from "./frames.ts";
import { modelPath } from "./classifier.ts";
import { findDevice, inferOnDevice } from "./remote_infer.ts";
import { openVideoWriter } from "./video_writer.ts";
import { startLiveServer } from "./serve.ts";

/** Where Debian, JetPack and pip builds of OpenCV put the frontal-face cascade. */
export const CASCADE_PATHS = [
  "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
  "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
  "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
];

const USAGE =
  "usage: deno task infer --source VIDEO|IMAGE|FOLDER|/dev/videoN|csi [--model VARIANT|FILE.onnx] " +
  "[--format fp32|int8] [--json] [--out FILE.mp4] [--frames N] [--detect-scale S] [--detect-every K]";

/** Parse the command line into run options (errors name the flag). */
export function parseInferArgs(args: string[]) {
  const parse = () =>
    parseArgs({
      args,
      options: {
        source: { type: "string" },
        task: { type: "string", default: "classification" },
        model: { type: "string" },
        format: { type: "string", default: "fp32" },
        profile: { type: "string", default: "quick" },
        cascade: { type: "string" },
        json: { type: "boolean", default: false },
        out: { type: "string" },
        serve: { type: "string" },
        device: { type: "string" },
        draw: { type: "boolean", default: false },
        pipeline: { type: "string", default: "pipeline.yaml" },
        frames: { type: "string" },
        width: { type: "string" },
        height: { type: "string" },
        "detect-scale": { type: "string", default: "0.5" },
        "detect-every": { type: "string", default: "1" },
        "scale-factor": { type: "string", default: "1.1" },
        "min-neighbors": { type: "string", default: "5" },
        "min-size": { type: "string", default: "60" },
        threads: { type: "string", default: "1" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (e) {
    // An unknown flag or a missing value: an expected failure, with the usage.
    throw new ExpectedError(`${(e as Error).message.split("\n")[0]}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) throw new ExpectedError(USAGE);
  if (!values.source) throw new ExpectedError(`--source is required\n${USAGE}`);
  if (!["classification", "segmentation"].includes(values.task!)) {
    throw new ExpectedError(`--task must be classification or segmentation, not "${values.task}"`);
  }
  const segmentation = values.task === "segmentation";
  if (!["fp32", "int8", "fp16"].includes(values.format!)) {
    throw new ExpectedError(`--format must be fp32, int8 or fp16, not "${values.format}"`);
  }
  const num = (flag: string, v: string | undefined, int = false) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || (int && !Number.isInteger(n))) {
      throw new ExpectedError(`--${flag} must be a ${int ? "whole " : ""}number, not "${v}"`);
    }
    return n;
  };
  const cascade = values.cascade ?? CASCADE_PATHS.find((p) => existsSync(p)) ?? CASCADE_PATHS[0];
  return {
    source: values.source,
    task: values.task as "classification" | "segmentation",
    model: values.model ?? (segmentation ? "unet_depthwise" : "teacher_p50"),
    format: `onnx-${values.format}` as "onnx-fp32" | "onnx-int8" | "onnx-fp16",
    exportDir: join("artifacts", values.profile!, segmentation ? "seg_export" : "export"),
    cascade,
    json: values.json!,
    out: values.out,
    maxFrames: num("frames", values.frames, true),
    width: num("width", values.width, true),
    height: num("height", values.height, true),
    detectScale: num("detect-scale", values["detect-scale"])!,
    detectEvery: num("detect-every", values["detect-every"], true)!,
    scaleFactor: num("scale-factor", values["scale-factor"])!,
    minNeighbors: num("min-neighbors", values["min-neighbors"], true)!,
    minSize: num("min-size", values["min-size"], true)!,
    threads: num("threads", values.threads, true)!,
    serve: num("serve", values.serve, true),
    device: values.device,
    pipeline: values.pipeline!,
    profile: values.profile!,
    annotate: values.draw! || values.out !== undefined || values.serve !== undefined,
  };
}

/**
 * Run `deno task infer` with `args`; returns the summary. JSON and summary lines go to `print`;
 * with `--serve`, `onServe` gets the page's URL once it listens.
 */
export async function infer(
  args: string[],
  print = (line: string) => console.log(line),
  onServe = (url: string) => console.error(`live page: ${url}`),
): Promise<LiveSummary | SegSummary> {
  const o = parseInferArgs(args);
  if (!(o.detectEvery >= 1)) throw new ExpectedError(`--detect-every must be ≥ 1, not ${o.detectEvery}`);
  if (o.device) return await onDevice(o, args, print);
  const run: {
    source: FrameSource;
    frames: AsyncGenerator<
      { record: FrameRecord | SegFrameRecord; rgb: Uint8Array },
      LiveSummary | SegSummary
    >;
  } = o.task === "segmentation" ? await openSegmentLive(o) : await openLive(o);
  const { source } = run;
  const writer = o.out
    ? await openVideoWriter(o.out, source.width, source.height, source.fps ?? 25)
    : undefined;
  const server = o.serve !== undefined ? startLiveServer(o.serve) : undefined;
  if (server) onServe(server.url);
  let lastReport = performance.now();
  try {
    for (;;) {
      const next = await run.frames.next();
      if (next.done) {
        await writer?.close();
        report(next.value, o.json, print);
        return next.value;
      }
      const { record, rgb } = next.value;
      if (writer) await writer.write(rgb);
      if (server) await server.publish(rgb, source.width, source.height, record);
      if (o.json) print(JSON.stringify(round(record)));
      else if (performance.now() - lastReport > 1000) {
        lastReport = performance.now();
        console.error(progressLine(record));
      }
    }
  } catch (e) {
    await writer?.abort();
    throw e;
  } finally {
    await server?.close();
  }
}

/** `--device NAME`: the board runs the same flags on its own source; its JSON lines come back. */
async function onDevice(
  o: ReturnType<typeof parseInferArgs>,
  args: string[],
  print: (line: string) => void,
): Promise<LiveSummary | SegSummary> {
  if (o.out || o.serve !== undefined) {
    throw new ExpectedError(
      `--device ${o.device}: --out and --serve are for local runs; use --json on a board`,
    );
  }
  const device = await findDevice(o.device!, o.pipeline, o.profile);
  const model = await modelPath(o.model, o);
  const local = new Set(["--device", "--model", "--cascade", "--profile", "--pipeline"]);
  const rest = args.flatMap((a, i) => local.has(a) || local.has(args[i - 1]) ? [] : [a]);
  let summary: LiveSummary | SegSummary | undefined;
  await inferOnDevice({
    device,
    args: rest.includes("--json") ? rest : [...rest, "--json"],
    model,
    cascade: o.task === "classification" ? o.cascade : undefined,
    print: (line) => {
      if (line.startsWith('{"summary"')) summary = JSON.parse(line);
      if (o.json || line.startsWith('{"summary"')) print(line);
    },
    log: (line) => console.error(line),
  });
  if (!summary) throw new ExpectedError(`--device ${o.device}: the board's runner printed no summary`);
  return summary;
}

function progressLine(r: FrameRecord | SegFrameRecord): string {
  if (!("faces" in r)) {
    return `frame ${r.frame}: mask ${(r.foreground * 100).toFixed(1)} % (${r.ms.total.toFixed(1)} ms)`;
  }
  return `frame ${r.frame}: ${facesText(r.faces)} (${r.ms.total.toFixed(1)} ms)`;
}

function report(s: LiveSummary | SegSummary, json: boolean, print: (line: string) => void): void {
  if (json) return print(JSON.stringify(round(s)));
  const m = s.summary.ms_median;
  const detection = "detect_every" in s.summary
    ? `, detect every ${s.summary.detect_every}, scale ${s.summary.detect_scale}`
    : "";
  print(
    `${s.summary.frames} frames of ${s.summary.source} in ${s.summary.seconds.toFixed(1)} s: ` +
      `${s.summary.fps.toFixed(1)} FPS (${s.summary.model}${detection})`,
  );
  print(`median ms: ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
}

/** Milliseconds and probabilities to 3 decimals in the JSON lines. */
function round<T>(x: T): T {
  return JSON.parse(
    JSON.stringify(x, (_, v) => typeof v === "number" && !Number.isInteger(v) ? +v.toFixed(3) : v),
  );
}

if (import.meta.main) {
  try {
    await infer(Deno.args);
  } catch (e) {
    if (!isExpected(e) || Deno.env.get("EDGESLIM_VERBOSE") === "1") throw e;
    console.error(`infer: ${(e as Error).message}`);
    Deno.exit(1);
  }
}

/**
 * `deno task infer` end to end on a real video (opencv-doc's Megamind.avi) with a small exported
 * classifier: per-frame JSON (boxes equal to the Haar detector's own, every stage timed), the
 * summary line, an annotated mp4, crops preprocessed exactly as training images, and the failure
 * messages (bad model path, missing source, a video that ends before --frames) printed alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { initEngine } from "../pipeline/engine/mod.ts";
import * as exportStage from "../pipeline/stages/export.ts";
import { cropToInput, decodeImage } from "../pipeline/data/decode.ts";
import { infer } from "../pipeline/live/infer.ts";
import { createHaarDetector } from "../pipeline/live/haar.ts";
import { openFrameSource } from "../pipeline/live/frames.ts";
import { CASCADE } from "../pipeline/live/opencv_reference.ts";
import { DATA, exportedClassifier, testWith } from "./_live_support.ts";
import { Cdp, launch } from "./_chromium.ts";
import * as liveStage from "../pipeline/stages/live.ts";
import { buildDocument } from "../pipeline/report/document.ts";
import { renderMarkdown } from "../pipeline/report/markdown.ts";
import { fullResults } from "./report_fixture.ts";
import { SEG_MODELS, segDataset, segTrain } from "./_seg_fixture.ts";
import { stageContext as context } from "./_stage_context.ts";

const VIDEO = `${DATA}/Megamind.avi`;

testWith("infer: per-frame JSON and summary on Megamind.avi, boxes as the detector's, annotated mp4", [
  "ffmpeg",
  "data",
], async () => {
  const base = await Deno.makeTempDir({ prefix: "edgeslim_infer_" });
  try {
    const exportDir = await exportedClassifier(base);
    const model = join(exportDir, "tiny", "model.fp32.onnx"), out = join(base, "annotated.mp4");
    const lines: string[] = [];
    const args = ["--source", VIDEO, "--model", model, "--json", "--frames", "24", "--detect-scale", "1"];
    const summary = await infer([...args, "--out", out], (l) => lines.push(l));
    console.log(lines.slice(0, 2).join("\n") + "\n…\n" + lines.at(-1));
    assert.equal(lines.length, 25);
    const frames = lines.slice(0, 24).map((l) => JSON.parse(l));
    assert.deepEqual(frames.map((f) => f.frame), [...Array(24).keys()]);
    // The boxes are the cascade's on the same frames (default settings 1.1 / 5 / 60).
    const detector = await createHaarDetector(CASCADE);
    const source = await openFrameSource(VIDEO, { maxFrames: 24 });
    let faces = 0;
    for await (const f of source) {
      const want = detector.detect(f.rgb, source.width, source.height, {
        scaleFactor: 1.1,
        minNeighbors: 5,
        minSize: 60,
        detectScale: 1,
      });
      assert.deepEqual(frames[f.index].faces.map((x: { box: number[] }) => x.box), want);
      faces += want.length;
    }
    detector.dispose();
    assert(faces >= 20, `only ${faces} faces in 24 frames`);
    for (const f of frames) {
      for (const k of ["capture", "detect", "preprocess", "classify", "draw", "total"]) {
        assert(f.ms[k] >= 0, k);
      }
      for (const face of f.faces) {
        assert(["with_mask", "without_mask"].includes(face.label) && face.prob >= 0.5);
      }
    }
    const last = JSON.parse(lines[24]).summary;
    assert.equal(last.frames, 24);
    assert(last.fps > 0 && last.ms_median.detect > 0 && summary.summary.frames === 24);
    const probe = await new Deno.Command("ffprobe", {
      args: [
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames,width,height",
        "-of",
        "csv=p=0",
        out,
      ],
    }).output();
    assert.equal(new TextDecoder().decode(probe.stdout).trim(), "720,528,24");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

testWith(
  "infer: a face crop is preprocessed exactly as a training image of the same pixels",
  ["data"],
  async () => {
    const { data, info } = await sharp(`${DATA}/messi5.jpg`).removeAlpha().raw().toBuffer({
      resolveWithObject: true,
    });
    const rgb = new Uint8Array(data), box = [200, 60, 97, 120] as const;
    const crop = await sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 } })
      .extract({ left: box[0], top: box[1], width: box[2], height: box[3] }).png().toBuffer();
    const served = await cropToInput(rgb, info.width, info.height, box, 64);
    const trained = await decodeImage(new Uint8Array(crop), 64);
    assert.deepEqual(served, trained);
  },
);

testWith(
  "infer: failures print one line naming the cause, no stack trace, exit 1",
  ["ffmpeg", "data"],
  async () => {
    const base = await Deno.makeTempDir({ prefix: "edgeslim_infer_err_" });
    try {
      const exportDir = await exportedClassifier(base);
      const model = join(exportDir, "tiny", "model.fp32.onnx");
      const cases: [string[], RegExp][] = [
        [
          ["--source", VIDEO, "--model", join(base, "nope.onnx")],
          /^infer: model ".*nope\.onnx" cannot be read/,
        ],
        [
          ["--source", VIDEO, "--model", "teacher_x", "--profile", "nope"],
          /no export results at "artifacts\/nope\/export/,
        ],
        [["--source", join(base, "missing.mp4"), "--model", model], /input ".*missing\.mp4" not found/],
        [["--source", "/dev/video9", "--model", model], /\/dev\/video9/],
        [
          ["--source", VIDEO, "--model", model, "--frames", "400"],
          /ended after 270 frames, before the 400 asked/,
        ],
        [["--model", model], /--source is required/],
      ];
      const cli = new URL("../pipeline/live/infer.ts", import.meta.url).pathname;
      for (const [args, want] of cases) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", cli, ...args],
          stdout: "piped",
          stderr: "piped",
        })
          .output();
        const err = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) =>
          !/^(Hi, looks|=+$|\s*$)/.test(l)
        );
        console.log(`  ${args.join(" ").replace(base, "<tmp>")}\n    → ${err.at(-1)}`);
        assert.equal(out.code, 1, err.join("\n"));
        assert(want.test(err.join("\n")), err.join("\n"));
        assert(!err.some((l) => /^\s+at /.test(l)), `a stack trace: ${err.join("\n")}`);
      }
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
);

testWith("infer --serve: the live page in Chromium shows the frames, FPS, stage times and labels", [
  "ffmpeg",
  "data",
  "chromium",
], async () => {
  const base = await Deno.makeTempDir({ prefix: "edgeslim_serve_" });
  try {
    const exportDir = await exportedClassifier(base);
    const model = join(exportDir, "tiny", "model.fp32.onnx");
    let seen: { fps: string; rows: number; faces: string[]; image: number[] } | undefined;
    let checked: Promise<void> = Promise.resolve();
    const args = ["--source", VIDEO, "--model", model, "--serve", "0", "--detect-scale", "1"];
    await infer(args, () => {}, (url) => {
      checked = (async () => {
        const profile = await Deno.makeTempDir({ dir: base, prefix: "chromium-" });
        const { child, port } = await launch(url, profile);
        try {
          const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
          const page = list.find((p: { type: string }) => p.type === "page");
          const cdp = await Cdp.open(page.webSocketDebuggerUrl);
          for (let i = 0; i < 100 && !seen?.faces.length; i++) {
            await new Promise((r) => setTimeout(r, 100));
            seen = await cdp.eval<typeof seen>(`({
              fps: document.getElementById("fps")?.textContent ?? "",
              rows: document.querySelectorAll("#times tr").length,
              faces: [...document.querySelectorAll("#faces li")].map((li) => li.textContent),
              image: [document.getElementById("stream")?.naturalWidth ?? 0, document.getElementById("stream")?.naturalHeight ?? 0],
            })`).catch(() => undefined);
          }
          const shot = await cdp.send("Page.captureScreenshot", { format: "png" });
          await Deno.writeFile(
            "/tmp/live_page.png",
            Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)),
          );
          await cdp.close();
        } finally {
          child.kill();
          await child.status;
        }
      })();
    });
    await checked;
    console.log(`  live page: ${JSON.stringify(seen)} (screenshot /tmp/live_page.png)`);
    assert(seen, "the page never answered");
    assert.match(seen.fps, /^\d+\.\d FPS$/);
    assert(Number(seen.fps.split(" ")[0]) > 0, seen.fps);
    assert.equal(seen.rows, 7); // header + capture, detect, preprocess, classify, draw, total
    assert(
      seen.faces.length > 0 && seen.faces.every((f) => /^with(out)?_mask \d+% at \d+/.test(f)),
      seen.faces.join(),
    );
    assert.deepEqual(seen.image, [720, 528]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

testWith(
  "live stage: every variant × format timed on the video, a strip kept, and the report's live section",
  [
    "ffmpeg",
    "data",
  ],
  async () => {
    const base = await Deno.makeTempDir({ prefix: "edgeslim_live_stage_" });
    try {
      const exportDir = await exportedClassifier(base);
      const params = liveStage.paramsSchema.parse({ frames: 12, variants: ["tiny"], strip: 2 });
      const ctx = context("live", params, base, { export: exportDir });
      await liveStage.run(ctx);
      const part = JSON.parse(
        await Deno.readTextFile(join(ctx.outDir, "results.part.json")),
      ) as liveStage.LivePart;
      console.log(ctx.lines.join("\n"));
      assert.deepEqual(part.runs.map((r) => `${r.variant} ${r.format} ${r.frames}`), [
        "tiny onnx-fp32 12",
        "tiny onnx-int8 12",
      ]);
      for (const r of part.runs) {
        assert(r.fps > 0 && r.faces > 0 && r.ms_median.detect > 0, JSON.stringify(r));
        assert.equal(r.classifier_fps, 1000 / r.ms_median.classify);
      }
      assert.deepEqual(part.strip.map((s) => s.frame), [3, 9]);
      const strip = await Promise.all(part.strip.map(async (s) => ({
        file: `figures/live/${s.file.split("/").pop()}`,
        png: await Deno.readFile(join(ctx.outDir, s.file)),
        caption: s.caption,
      })));
      assert.deepEqual((await sharp(strip[0].png).metadata()).width, 320);
      // The report: the live section's table (ours, then the seed's columns) and both figures.
      const results = fullResults();
      results.extra = {
        ...results.extra,
        live: { ...part, runs: part.runs.map((r) => ({ ...r, variant: "teacher" })) },
      };
      for (const lang of ["en", "ko"] as const) {
        const doc = await buildDocument(results, lang, { liveStrip: strip });
        const md = renderMarkdown(doc);
        const at = md.indexOf(lang === "en" ? "## Live inference" : "## 실시간 추론");
        assert(at > 0, `no live section (${lang})`);
        const section = md.slice(at, md.indexOf("\n## ", at + 5));
        const row = section.split("\n").find((l) => l.startsWith("| teacher") && l.includes("onnx-fp32"))!;
        assert(
          row.includes(part.runs[0].fps.toFixed(1)) && row.includes("5.1") && row.includes("25.71"),
          row,
        );
        assert(
          doc.figures.some((f) => f.name === `live_stages.${lang}`) &&
            doc.figures.some((f) => f.name === `live_fps.${lang}`),
        );
        assert(section.includes("frame-0003.png"), section);
      }
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
);

testWith("infer --task segmentation: a U-Net's mask per frame, timed per stage; a U-Net is no classifier", [
  "ffmpeg",
  "data",
], async () => {
  const base = await Deno.makeTempDir({ prefix: "edgeslim_infer_seg_" });
  try {
    await initEngine();
    const fetch = await segDataset(base), train = await segTrain(base);
    const exp = context(
      "seg_export",
      exportStage.paramsSchema.parse({ formats: ["onnx-fp32"], parity_images: 2 }),
      base,
      {
        train,
        fetch,
      },
    );
    await exportStage.run(exp);
    const unet = join(exp.outDir, Object.keys(SEG_MODELS)[0], "model.fp32.onnx");
    const lines: string[] = [];
    const args = ["--task", "segmentation", "--source", VIDEO, "--model", unet, "--json", "--frames", "8"];
    await infer([...args, "--out", join(base, "seg.mp4")], (l) => lines.push(l));
    console.log(`  ${lines[0]}\n  ${lines.at(-1)}`);
    const frames = lines.slice(0, 8).map((l) => JSON.parse(l));
    for (const f of frames) {
      assert(f.foreground >= 0 && f.foreground <= 1);
      assert.deepEqual(Object.keys(f.ms), ["capture", "preprocess", "segment", "draw", "total"]);
    }
    assert.equal(JSON.parse(lines[8]).summary.frames, 8);
    let message = "";
    try {
      await infer(["--source", VIDEO, "--model", unet, "--frames", "1"], () => {});
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, /is not a classifier exported by edgeslim/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

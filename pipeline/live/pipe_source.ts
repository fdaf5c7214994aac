/**
 * A frame source fed by a child process that writes raw RGB24 frames to its stdout
 * (ffmpeg, gst-launch-1.0): pipe chunks are reassembled into whole frames.
 */
import { ExpectedError } from "../core/errors.ts";
import { lastLines, readTail, spawnTool, stopChild } from "./child.ts";
import { FrameAssembler } from "./frame_assembler.ts";
import type { Frame, FrameSource, SourceKind } from "./source.ts";

/** The child to run and the frames it writes. */
export interface PipeSourceOptions {
  command: string;
  args: string[];
  kind: SourceKind;
  label: string;
  width: number;
  height: number;
  fps?: number;
  maxFrames?: number;
  /** How to ask the child to stop (SIGINT lets gst-launch-1.0 release the camera); default SIGTERM. */
  stopSignal?: Deno.Signal;
  /** Turns the child's stderr of a failed run into a plain cause, when it recognises one. */
  explain?: (stderr: string) => string | undefined;
}

/**
 * Spawn the child and read its stdout as frames of `width * height * 3` bytes. Reading pulls
 * only as fast as the consumer iterates, so a slow consumer blocks the child on a full pipe.
 * Throws ExpectedError when the child is missing, fails, or ends early (see `openFrameSource`).
 */
export function openPipeSource(o: PipeSourceOptions): FrameSource {
  const child = spawnTool(o.command, o.args);
  const stderr = readTail(child.stderr);
  const stdout = child.stdout.getReader();
  const assembler = new FrameAssembler(o.width * o.height * 3);
  let stopping = false;
  let stopped: Promise<void> | undefined;

  const close = () =>
    stopped ??= (async () => {
      stopping = true;
      await stdout.cancel().catch(() => {});
      await stopChild(child, o.stopSignal);
      await stderr;
    })();

  async function endedEarly(frames: number): Promise<ExpectedError | undefined> {
    const status = await child.status;
    const stderrText = await stderr;
    const said = lastLines(stderrText);
    const cause = status.success ? undefined : o.explain?.(stderrText);
    const detail = (cause ? `: ${cause}` : "") + (said ? `; ${o.command} said: ${said}` : "");
    const pending = assembler.pendingBytes;
    const torn = pending
      ? `, then a partial frame ${frames} of ${pending} bytes of ${assembler.frameBytes}`
      : "";
    if (!status.success) {
      return new ExpectedError(
        `${o.label}: ${o.command} failed (exit code ${status.code}) after ${frames} frames${torn}${detail}`,
      );
    }
    if (pending) {
      return new ExpectedError(
        `${o.label} ended on a partial frame: frame ${frames} has ${pending} bytes of ${assembler.frameBytes} ` +
          `(${o.width}x${o.height} RGB24)${detail}`,
      );
    }
    if (o.maxFrames !== undefined) {
      return new ExpectedError(
        `${o.label} ended after ${frames} frames, before the ${o.maxFrames} asked (maxFrames)${detail}`,
      );
    }
  }

  async function* frames(): AsyncGenerator<Frame> {
    let index = 0;
    try {
      let ready: Uint8Array[] = [];
      let waitStart = performance.now();
      while (!stopping && (o.maxFrames === undefined || index < o.maxFrames)) {
        if (ready.length === 0) {
          const chunk = await stdout.read();
          if (chunk.done) break;
          ready = assembler.push(chunk.value);
          continue;
        }
        yield { index, rgb: ready.shift()!, captureMs: performance.now() - waitStart };
        index++;
        waitStart = performance.now();
      }
      if (index !== o.maxFrames && !stopping) {
        const error = await endedEarly(index);
        if (error) throw error;
      }
    } finally {
      await close();
    }
  }

  const iterator = frames();
  return {
    kind: o.kind,
    label: o.label,
    width: o.width,
    height: o.height,
    fps: o.fps,
    skipped: [],
    [Symbol.asyncIterator]: () => iterator,
    close,
    [Symbol.asyncDispose]: close,
  };
}

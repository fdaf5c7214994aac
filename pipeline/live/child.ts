/**
 * Child processes of the frame sources and the writer: spawning with a clear error when the
 * program is missing, keeping a tail of stderr, and stopping a child for sure.
 */
import { ExpectedError } from "../core/errors.ts";

const INSTALL_HINT: Record<string, string> = {
  ffmpeg: "apt-get install ffmpeg",
  ffprobe: "apt-get install ffmpeg",
  "gst-launch-1.0": "apt-get install gstreamer1.0-tools",
  "gst-inspect-1.0": "apt-get install gstreamer1.0-tools",
};

/**
 * Spawn `command` with stdout and stderr piped. A program not on PATH (ENOENT) or not executable
 * becomes an ExpectedError that names it and how to install it.
 */
export function spawnTool(
  command: string,
  args: string[],
  stdin: "piped" | "null" = "null",
): Deno.ChildProcess {
  try {
    return new Deno.Command(command, { args, stdin, stdout: "piped", stderr: "piped" }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      const hint = INSTALL_HINT[command] ? ` (install it: ${INSTALL_HINT[command]})` : "";
      throw new ExpectedError(`${command} not found on PATH${hint}`);
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new ExpectedError(`${command} cannot be run: permission denied`);
    }
    throw e;
  }
}

/** Run `command` to its end; its exit code and output as text. */
export async function runTool(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnTool(command, args);
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { code: status.code, stdout: out, stderr: err };
}

/**
 * Read a stream to its end, keeping only its last `maxBytes` as text. Reading it at all matters:
 * a child whose stderr pipe fills up blocks.
 */
export async function readTail(stream: ReadableStream<Uint8Array>, maxBytes = 8192): Promise<string> {
  let kept = new Uint8Array(0);
  for await (const chunk of stream) {
    const joined = new Uint8Array(kept.length + chunk.length);
    joined.set(kept);
    joined.set(chunk, kept.length);
    kept = joined.subarray(Math.max(0, joined.length - maxBytes));
  }
  return new TextDecoder().decode(kept);
}

/** The last non-empty lines of a tool's stderr, joined for one-line messages. */
export function lastLines(text: string, lines = 6): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).slice(-lines).join(" | ");
}

/**
 * Stop `child`: send `signal`, then SIGKILL if it has not exited after `graceMs`; resolves with
 * its status once it has exited.
 */
export async function stopChild(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 2000,
): Promise<Deno.CommandStatus> {
  sendSignal(child, signal);
  const timer = setTimeout(() => sendSignal(child, "SIGKILL"), graceMs);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

function sendSignal(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already exited: Deno throws rather than signalling a reaped pid.
  }
}

/**
 * Progress bars and a stage logger, without dependencies.
 *
 * On a terminal the bar is one line redrawn in place (at most 10 times a second):
 * `train teacher epoch 3/8 [████░░░░] 45% 120/266 batch  loss 0.231 acc 0.93  2.1 batch/s ETA 0:41`;
 * bars that run at once (models trained side by side) are drawn as a block, one line each.
 * Elsewhere (a log file, CI, a test) it prints plain lines: when 10 % more is done or 5 s have
 * passed since the last line, and a final line from `done()`.
 */
import type { Logger, Progress } from "./types.ts";

/** Options of {@linkcode createProgress}, mainly for tests. */
export interface ProgressOptions {
  /** Where output goes. @default writes to stdout */
  write?: (text: string) => void;
  /** Draw a bar in place. @default Deno.stdout.isTerminal() */
  tty?: boolean;
  /** Clock in ms. @default performance.now */
  now?: () => number;
  /** Line width on a terminal. @default the console's width, else 100 */
  columns?: number;
}

const encoder = new TextEncoder();
const BAR = 20;

/** The terminal bars drawn together on one output, one line each, and how many lines are on screen. */
interface Board {
  bars: { text(): string }[];
  shown: number;
}
const boards = new Map<(text: string) => void, Board>();

function boardOf(write: (text: string) => void): Board {
  let board = boards.get(write);
  if (!board) boards.set(write, board = { bars: [], shown: 0 });
  return board;
}

/** Back to the start of the block's first line. */
function toTop(board: Board): string {
  return board.shown > 1 ? `\r\x1b[${board.shown - 1}A` : "\r";
}

/** Redraw every bar of the board in place. */
function drawBoard(board: Board, write: (text: string) => void): void {
  if (board.bars.length === 0) return;
  write(`${toTop(board)}${board.bars.map((b) => `${b.text()}\x1b[K`).join("\n")}`);
  board.shown = board.bars.length;
}

/** Clear the block so that a log line can be printed (the next tick redraws it). */
function clearBoard(board: Board): string {
  if (board.shown === 0) return "";
  const text = `${toTop(board)}\x1b[J`;
  board.shown = 0;
  return text;
}

function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

function isTerminal(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields).map(([k, v]) => {
    const value = typeof v === "number" && !Number.isInteger(v)
      ? String(Number(v.toPrecision(3)))
      : String(v);
    return `${k} ${value}`;
  }).join(" ");
}

/**
 * A progress display for `total` units of work named `label`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProgress } from "./progress.ts";
 * const lines: string[] = [];
 * const p = createProgress("fetch images", 4, "img", { tty: false, write: (t) => lines.push(t) });
 * for (let i = 0; i < 4; i++) p.tick(1, { class: "with_mask" });
 * p.done();
 * assert(lines.at(-1)!.startsWith("fetch images 100% 4/4 img"));
 * ```
 */
export function createProgress(
  label: string,
  total: number,
  unit = "it",
  options: ProgressOptions = {},
): Progress {
  const write = options.write ?? writeStdout;
  const tty = options.tty ?? isTerminal();
  const now = options.now ?? (() => performance.now());
  const start = now();
  let count = 0;
  let fields: Record<string, string | number> = {};
  // A terminal bar shows at once; plain lines start after the first 10 % or 5 s.
  let lastDraw = tty ? -Infinity : start;
  let lastLineCount = 0;
  let finished = false;

  /** The status line; `barWidth` 0 leaves the bar out. */
  const line = (barWidth: number): string => {
    const elapsed = (now() - start) / 1000;
    const frac = total > 0 ? Math.min(count / total, 1) : 0;
    const rate = elapsed > 0 ? count / elapsed : 0;
    const eta = rate > 0 ? formatDuration((total - count) / rate) : "?";
    const filled = Math.round(frac * barWidth);
    const bar = barWidth > 0 ? ` [${"█".repeat(filled)}${"░".repeat(barWidth - filled)}]` : "";
    const extra = Object.keys(fields).length > 0 ? `  ${formatFields(fields)}` : "";
    const tail = finished ? `in ${formatDuration(elapsed)}` : `ETA ${eta}`;
    const pct = Math.floor(frac * 100);
    return `${label}${bar} ${pct}% ${count}/${total} ${unit}${extra}  ${rate.toFixed(1)} ${unit}/s ${tail}`;
  };

  /** The terminal line: the bar narrowed before the line is cut, so the ETA stays visible. */
  const ttyText = (): string => {
    const columns = options.columns ?? consoleColumns();
    const room = columns - 1 - line(0).length - 3;
    return line(Math.max(0, Math.min(BAR, room))).slice(0, columns - 1);
  };
  const me = { text: ttyText };
  const board = tty ? boardOf(write) : undefined;

  const draw = (force: boolean): void => {
    const t = now();
    if (board) {
      if (!force && t - lastDraw < 100) return; // at most 10 redraws a second
      if (!board.bars.includes(me)) board.bars.push(me);
      drawBoard(board, write);
    } else {
      const step = total > 0 ? (count - lastLineCount) / total : 0;
      if (!force && step < 0.1 && t - lastDraw < 5000) return;
      write(`${line(0)}\n`);
      lastLineCount = count;
    }
    lastDraw = t;
  };

  return {
    tick(n = 1, tickFields) {
      count += n;
      if (tickFields) fields = { ...fields, ...tickFields };
      draw(false);
    },
    done(doneFields) {
      if (finished) return;
      finished = true;
      if (doneFields) fields = { ...fields, ...doneFields };
      if (!board) return draw(true);
      if (board.bars.length <= 1) {
        draw(true);
        write("\n");
        board.bars = [];
        board.shown = 0;
        return;
      }
      // Others still run: this bar's last line goes above the block, which is redrawn below it.
      write(`${clearBoard(board)}${ttyText()}\n`);
      board.bars = board.bars.filter((b) => b !== me);
      drawBoard(board, write);
    },
  };
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}

/**
 * A logger whose lines start with `[prefix]`; info goes to stdout, warn to stderr.
 * A progress bar on screen is cleared first so the line is not mixed into it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./progress.ts";
 * const lines: string[] = [];
 * createLogger("train", (t) => lines.push(t)).info("epoch 1");
 * assert(lines[0] === "[train] epoch 1\n");
 * ```
 */
export function createLogger(prefix: string, write?: (text: string, isWarning: boolean) => void): Logger {
  const emit = write ?? ((text: string, isWarning: boolean) => {
    const clear = clearBoard(boardOf(writeStdout));
    if (isWarning) console.error(`${clear}${text.trimEnd()}`);
    else writeStdout(`${clear}${text}`);
  });
  return {
    info: (message) => emit(`[${prefix}] ${message}\n`, false),
    warn: (message) => emit(`[${prefix}] warning: ${message}\n`, true),
  };
}

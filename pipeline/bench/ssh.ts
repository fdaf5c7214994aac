/**
 * The system OpenSSH client, driven safely: one multiplexed connection per device
 * (ControlMaster in a private temp folder), BatchMode (no prompts), host keys verified as the
 * user's ssh config says, every remote word single-quoted, and ssh's failures turned into
 * messages that name the device and the cause.
 */
import { join } from "node:path";
import { ExpectedError } from "../core/errors.ts";

/**
 * Quote `s` as one word for a POSIX shell: wrap in single quotes, each `'` becomes `'\''`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shellQuote } from "./ssh.ts";
 * assert(shellQuote("a'b") === `'a'\\''b'`);
 * ```
 */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Quote a remote path, keeping a leading `~/` working (it becomes `"$HOME"/'rest'`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quotePath } from "./ssh.ts";
 * assert(quotePath("~/bench") === `"$HOME"/'bench'`);
 * ```
 */
export function quotePath(path: string): string {
  if (path === "~") return `"$HOME"`;
  return path.startsWith("~/") ? `"$HOME"/${shellQuote(path.slice(2))}` : shellQuote(path);
}

/** `user@host:port`, `host` or an alias of ~/.ssh/config, split. */
export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/**
 * Parse `[user@]host[:port]` (IPv6 as `[::1]:22`). Throws on a value ssh could read as an option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTarget } from "./ssh.ts";
 * const t = parseTarget("pi@raspberrypi.local:2222");
 * assert(t.user === "pi" && t.host === "raspberrypi.local" && t.port === 2222);
 * ```
 */
export function parseTarget(spec: string): SshTarget {
  const m = spec.match(
    /^(?:([A-Za-z0-9._][A-Za-z0-9._-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9._-]*)(?::(\d{1,5}))?$/,
  );
  if (!m) throw new ExpectedError(`ssh target "${spec}" is not [user@]host[:port]`);
  const port = m[3] ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new ExpectedError(`ssh target "${spec}": port ${port} is not in 1..65535`);
  }
  return { user: m[1], host: m[2].replace(/^\[(.*)\]$/, "$1"), port };
}

/** What went wrong, as a short machine-readable kind beside the message. */
export type SshFailureKind =
  | "refused"
  | "auth"
  | "host_key"
  | "host_key_changed"
  | "resolve"
  | "unreachable"
  | "dropped"
  | "runtime_missing"
  | "timeout"
  | "remote";

/** An ssh/remote failure (an expected one); `message` names the device and the cause. */
export class SshError extends ExpectedError {
  constructor(readonly device: string, readonly kind: SshFailureKind, message: string) {
    super(`device "${device}": ${message}`);
    this.name = "SshError";
  }
}

/** Last non-empty lines of stderr, for messages. */
function tail(stderr: string, lines = 4): string {
  return stderr.split("\n").map((l) => l.trim()).filter(Boolean).slice(-lines).join(" | ");
}

/**
 * Classify a failed ssh run by its exit code and stderr (ssh itself exits 255; the remote
 * command's own code comes through otherwise).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifySshFailure } from "./ssh.ts";
 * assert(classifySshFailure(255, "Permission denied (publickey).").kind === "auth");
 * ```
 */
export function classifySshFailure(code: number, stderr: string): { kind: SshFailureKind; message: string } {
  const has = (re: RegExp) => re.test(stderr);
  const detail = tail(stderr);
  if (has(/REMOTE HOST IDENTIFICATION HAS CHANGED/)) {
    return {
      kind: "host_key_changed",
      message: `the host key changed (check it, then fix known_hosts): ${detail}`,
    };
  }
  if (has(/Host key verification failed|No .* host key is known/)) {
    return {
      kind: "host_key",
      message: `host key verification failed: the host is not in known_hosts; connect once with ` +
        `\`ssh\` and check the fingerprint (or add it with ssh-keyscan) (${detail})`,
    };
  }
  if (has(/Permission denied/)) {
    return { kind: "auth", message: `authentication refused (key not accepted): ${detail}` };
  }
  if (has(/Connection refused/)) return { kind: "refused", message: `connection refused: ${detail}` };
  if (has(/Could not resolve hostname/)) return { kind: "resolve", message: `unknown host name: ${detail}` };
  if (has(/timed out|No route to host|Network is unreachable/)) {
    return { kind: "unreachable", message: `host unreachable: ${detail}` };
  }
  if (has(/edgeslim: runtime not found|: not found|command not found/) || code === 127) {
    return { kind: "runtime_missing", message: `runtime not found on the device: ${detail}` };
  }
  if (code === 255 || has(/Connection (closed|reset)|Broken pipe|closed by remote host/)) {
    return { kind: "dropped", message: `connection failed or dropped (ssh exit ${code}): ${detail}` };
  }
  return { kind: "remote", message: `remote command failed (exit ${code}): ${detail}` };
}

/** How to reach one device. */
export interface SshOptions {
  /** Device name, for messages. */
  device: string;
  /** `[user@]host[:port]` or a Host alias of the ssh config. */
  target: string;
  /** Extra `-o Key=Value` options (e.g. StrictHostKeyChecking: accept-new). */
  options?: Record<string, string | number | boolean>;
  /** An ssh config file passed with `-F` (tests; default: ~/.ssh/config). */
  configFile?: string;
}

/** Output of one remote command. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** One multiplexed ssh connection; call `close()` at the end. */
export class SshConnection {
  #dir: string;
  #base: string[];
  #dest: string;

  private constructor(readonly o: SshOptions, dir: string) {
    this.#dir = dir;
    const t = parseTarget(o.target);
    this.#dest = t.user ? `${t.user}@${t.host}` : t.host;
    const opts: Record<string, string | number | boolean> = {
      BatchMode: "yes", // never prompt for a password or a host key
      ConnectTimeout: 15,
      ServerAliveInterval: 15, // notice a dropped link within ~45 s
      ServerAliveCountMax: 3,
      ...o.options,
      ControlMaster: "auto",
      ControlPath: join(dir, "cm-%C"), // %C: a hash, short enough for a socket path
      ControlPersist: 120,
    };
    for (const [k, v] of Object.entries(opts)) {
      if (!/^[A-Za-z]+$/.test(k) || /[\n\r]/.test(String(v))) {
        const what = `ssh option ${JSON.stringify(k)} = ${JSON.stringify(v)}`;
        throw new ExpectedError(
          `${what}: the name must be letters and the value one line (devices[].options)`,
        );
      }
    }
    this.#base = [
      ...(o.configFile ? ["-F", o.configFile] : []),
      ...(t.port ? ["-p", String(t.port)] : []),
      ...Object.entries(opts).flatMap((
        [k, v],
      ) => ["-o", `${k}=${v === true ? "yes" : v === false ? "no" : v}`]),
    ];
  }

  /** A connection for `o` (the master starts with the first command). */
  static async open(o: SshOptions): Promise<SshConnection> {
    return new SshConnection(o, await Deno.makeTempDir({ prefix: "edgeslim-ssh-" }));
  }

  /**
   * Run `command` (one shell line, already quoted) on the device; `stdin` is piped in.
   * Throws {@linkcode SshError} on a non-zero exit or when `signal` aborts.
   */
  async exec(command: string, opts: { stdin?: ReadableStream<Uint8Array>; signal?: AbortSignal } = {}) {
    const child = new Deno.Command("ssh", {
      args: [...this.#base, "--", this.#dest, command],
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      signal: opts.signal,
    }).spawn();
    const feeding = opts.stdin?.pipeTo(child.stdin).catch(() => {}); // ssh's own error says more
    // The master holds our pipes (mux passes fds), so a timeout must stop it, not only this client.
    const stop = () => void this.#stopMaster();
    opts.signal?.addEventListener("abort", stop, { once: true });
    const out = await child.output().finally(() => opts.signal?.removeEventListener("abort", stop));
    await feeding;
    const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
    if (opts.signal?.aborted) {
      throw new SshError(this.o.device, "timeout", `timed out (${opts.signal.reason})`);
    }
    if (out.code !== 0) {
      const { kind, message } = classifySshFailure(out.code, stderr);
      throw new SshError(this.o.device, kind, message);
    }
    return { stdout, stderr } as ExecResult;
  }

  /**
   * Run `command` on the device and hand each stdout line to `onLine` as it arrives (live
   * inference streams one JSON line per frame); its stderr goes to `onError` line by line, and
   * the lines it returns true for are the ones an error message quotes.
   * Throws {@linkcode SshError} like `exec` on a non-zero exit (a dropped link: kind "dropped").
   */
  async stream(
    command: string,
    onLine: (line: string) => void,
    onError: (line: string) => boolean = () => true,
  ): Promise<void> {
    const child = new Deno.Command("ssh", {
      args: [...this.#base, "--", this.#dest, command],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = async (stream: ReadableStream<Uint8Array>, each: (line: string) => void) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        parts.forEach(each);
      }
      if (rest) each(rest);
    };
    const tail: string[] = [];
    const [status] = await Promise.all([
      child.status,
      lines(child.stdout, onLine),
      lines(child.stderr, (line) => {
        if (!onError(line)) return;
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }),
    ]);
    if (status.code !== 0) {
      const { kind, message } = classifySshFailure(status.code, tail.join("\n"));
      throw new SshError(this.o.device, kind, message);
    }
  }

  /** Stop the master connection and remove the private folder. */
  async close(): Promise<void> {
    await this.#stopMaster();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #stopMaster(): Promise<void> {
    const args = [...this.#base, "-O", "exit", "--", this.#dest];
    await new Deno.Command("ssh", { args, stdout: "null", stderr: "null" }).output().catch(() => {});
  }
}

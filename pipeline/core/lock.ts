/**
 * The lock file, artifacts/<profile>/pipeline.lock.json: per stage the cache key it last ran
 * with and a manifest of its out folder.
 *
 * Checking an out folder must stay cheap when it holds hundreds of MB, so the manifest records
 * size and mtime of every file as written; {@linkcode verifyOut} only stats files and rehashes
 * just those whose size or mtime changed (a touched-but-equal file still counts as unchanged).
 */
import { ExpectedError } from "./errors.ts";
import { removePath, writeFileAtomic } from "./atomic_write.ts";
import { hashFile, listFiles, type ManifestEntry } from "./hash.ts";

/** What the lock records for one finished stage. */
export interface LockEntry {
  /** Cache key the stage last ran with (see runner.ts). */
  key: string;
  /** Hash of each input the key was made from, so a rerun can say which one changed. */
  inputs?: Record<string, string>;
  /** Out folder, relative to the pipeline file's folder. */
  out: string;
  /** sha256 over the manifest's paths and content hashes; upstream of downstream keys. */
  out_hash: string;
  manifest: ManifestEntry[];
  summary: Record<string, unknown>;
  finished_at: string;
  seconds: number;
}

/** The whole lock file of one profile. */
export interface LockFile {
  version: 1;
  profile: string;
  stages: Record<string, LockEntry>;
}

/** Read the lock file; a missing or unreadable one is an empty lock (everything reruns). */
export async function readLock(path: string, profile: string): Promise<LockFile> {
  try {
    const lock = JSON.parse(await Deno.readTextFile(path)) as LockFile;
    if (lock.version === 1 && lock.stages && typeof lock.stages === "object") return lock;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
  }
  return { version: 1, profile, stages: {} };
}

/** Write the lock file atomically (temp file + rename). */
export async function writeLock(path: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(lock, null, 1) + "\n");
}

/** Outcome of {@linkcode verifyOut}: `refreshed` is set when mtimes were updated in place. */
export interface VerifyResult {
  ok: boolean;
  /** Why not ok, e.g. `file "a.bin" changed`. */
  reason?: string;
  refreshed: boolean;
}

/**
 * Check that `dir` still holds exactly the files of `manifest`. Files whose size and mtime match
 * are trusted; others are rehashed, and if equal their new mtime is written into `manifest`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildManifest } from "./hash.ts";
 * import { verifyOut } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "x");
 * const manifest = await buildManifest(dir);
 * assert((await verifyOut(dir, manifest)).ok);
 * await Deno.writeTextFile(`${dir}/a.txt`, "yy");
 * assert(!(await verifyOut(dir, manifest)).ok);
 * ```
 */
export async function verifyOut(dir: string, manifest: ManifestEntry[]): Promise<VerifyResult> {
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { ok: false, reason: "out folder missing", refreshed: false };
    }
    throw e;
  }
  if (files.length !== manifest.length) {
    return {
      ok: false,
      reason: `out folder has ${files.length} files, lock has ${manifest.length}`,
      refreshed: false,
    };
  }
  let refreshed = false;
  for (let i = 0; i < manifest.length; i++) {
    const entry = manifest[i];
    if (files[i] !== entry.path) {
      return { ok: false, reason: `file "${files[i]}" not in the lock`, refreshed };
    }
    const info = await Deno.stat(`${dir}/${entry.path}`);
    const mtime = info.mtime?.getTime() ?? 0;
    if (info.size === entry.size && mtime === entry.mtime_ms) continue;
    if (info.size !== entry.size || (await hashFile(`${dir}/${entry.path}`)) !== entry.sha256) {
      return { ok: false, reason: `file "${entry.path}" changed`, refreshed };
    }
    entry.mtime_ms = mtime;
    refreshed = true;
  }
  return { ok: true, refreshed };
}

/** True when a process with this id runs (Linux: /proc; elsewhere assume it is gone). */
export function processAlive(pid: number): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Claim `<dir>/pipeline.pid` for this process so two runs of one profile never interleave;
 * a file left by a process that is gone (kill -9) is taken over. Resolves to a release function.
 */
export async function acquireRunLock(dir: string): Promise<() => Promise<void>> {
  const path = `${dir}/pipeline.pid`;
  await Deno.mkdir(dir, { recursive: true });
  const release = () => removePath(path);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await Deno.writeTextFile(path, `${Deno.pid}\n`, { createNew: true });
      return release;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const pid = Number((await Deno.readTextFile(path).catch(() => "")).trim());
    if (pid && pid !== Deno.pid && processAlive(pid)) {
      throw new ExpectedError(`Another pipeline run (pid ${pid}) is using "${dir}"; wait for it to finish`);
    }
    await removePath(path);
  }
  throw new ExpectedError(`Cannot claim "${path}": another run keeps taking it; retry when it has finished`);
}

/**
 * Run a validated pipeline: stages in topological order, each skipped when its cache key and
 * out folder still match the lock, otherwise run into `<out>.tmp-<pid>` and renamed into place.
 *
 * Cache key of a stage = sha256 of the canonical JSON of its inputs: its merged params and the
 * seed; its code, derived from the module's import graph (code_graph.ts: every local file it
 * imports or names by `new URL("…", import.meta.url)`, the npm versions it resolves); the
 * contents of its dep paths (data); and the recorded out hashes of its upstream stages. The
 * lock keeps each input's hash, so a rerun says what changed, e.g.
 * `train: running (changed: code pipeline/data/dataset.ts)`. A stage whose upstream reran but
 * wrote identical output is still skipped.
 *
 * `only` runs one stage plus whatever of its upstream is not up to date (as DVC does);
 * `force` reruns every planned stage, or with `only` just that stage.
 */
import { basename, dirname, relative, resolve } from "node:path";
import { CodeGraphs, codeInputs } from "./code_graph.ts";
import { pathExists, pathExistsSync, removePath } from "./atomic_write.ts";
import { loadPipeline, type PipelineConfig, PipelineConfigError, type StageConfig } from "./config.ts";
import { type StageGraph, upstreamOf } from "./graph.ts";
import { buildManifest, canonicalJson, hashPath, type ManifestEntry, manifestHash, sha256 } from "./hash.ts";
import { acquireRunLock, type LockFile, processAlive, readLock, verifyOut, writeLock } from "./lock.ts";
import { isExpected } from "./errors.ts";
import { createLogger, createProgress } from "./progress.ts";
import { type StageRecord, writeResults } from "./results.ts";
import type { StageContext, StageStatus } from "./types.ts";

/** Options of {@linkcode runPipeline}. */
export interface RunOptions {
  /** Pipeline file. @default "pipeline.yaml" */
  file?: string;
  /** Profile name. @default the file's default_profile */
  profile?: string;
  /** Run just this stage (and any upstream stage that is not up to date). */
  only?: string;
  /** Rerun even when cached; with `only`, forces just that stage. @default false */
  force?: boolean;
  /** Print the whole stack of a failed stage, expected failures too. @default EDGESLIM_VERBOSE=1 */
  verbose?: boolean;
  /** Where the runner's own lines go. @default console.log */
  print?: (line: string) => void;
}

/** What a run did. */
export interface RunReport {
  /** 0 when every planned stage finished or was skipped, 1 when one failed. */
  exit_code: 0 | 1;
  profile: string;
  /** Status of every stage of the file after this run. */
  statuses: Record<string, StageStatus>;
  /** Stages that ran this time, in order. */
  ran: string[];
  /** Stages skipped as unchanged. */
  skipped: string[];
  /** Absolute path of results.json. */
  results_path: string;
  /** Absolute path of report/<profile>/index.html when the report stage produced one. */
  report_html?: string;
}

// `<x>.tmp-<pid>` folders and `<x>.tmp-<pid>-<rand>` files (writeFileAtomic).
const GARBAGE = /^(.*)\.(tmp|old)-(\d+)(-[0-9a-f]+)?$/;

/** What every step of one run shares. */
interface RunState {
  config: PipelineConfig;
  options: RunOptions;
  print: (line: string) => void;
  graph: StageGraph;
  artifactsDir: string;
  lockPath: string;
  lock: LockFile;
  /** This run's record of each stage visited so far. */
  records: Map<string, StageRecord>;
  /** Out hash of each stage visited so far (upstream part of downstream keys). */
  outHash: Record<string, string>;
  hashOnce: (path: string) => Promise<string>;
  /** Import graphs of the stage modules, one `deno info` per module per run. */
  graphs: CodeGraphs;
}

/**
 * Validate the pipeline file, then run it. Validation problems throw
 * {@linkcode PipelineConfigError} before any stage runs; a failing stage gives `exit_code` 1.
 * Two runs of one profile at once are refused (artifacts/<profile>/pipeline.pid).
 *
 * @example
 * ```ts ignore
 * import { runPipeline } from "./runner.ts";
 * const report = await runPipeline({ file: "pipeline.yaml", profile: "quick" });
 * Deno.exit(report.exit_code);
 * ```
 */
export async function runPipeline(options: RunOptions = {}): Promise<RunReport> {
  const config = await loadPipeline(options.file ?? "pipeline.yaml", { profile: options.profile });
  if (options.only !== undefined && !(options.only in config.stages)) {
    throw new PipelineConfigError([
      `--only: unknown stage "${options.only}" (expected one of: ${config.order.join(", ")})`,
    ]);
  }
  const artifactsDir = resolve(config.root, "artifacts", config.profile);
  const release = await acquireRunLock(artifactsDir);
  try {
    return await runStages(config, options, artifactsDir);
  } finally {
    await release();
  }
}

async function runStages(
  config: PipelineConfig,
  options: RunOptions,
  artifactsDir: string,
): Promise<RunReport> {
  const print = options.print ?? ((line: string) => console.log(line));
  const graph = Object.fromEntries(config.order.map((n) => [n, config.stages[n].stage_deps]));
  const planned = options.only === undefined ? new Set(config.order) : upstreamOf(graph, options.only);
  await cleanGarbage([artifactsDir, ...config.order.map((n) => dirname(config.stages[n].out))], print);
  const lockPath = `${artifactsDir}/pipeline.lock.json`;
  const hashes = new Map<string, Promise<string>>();
  const state: RunState = {
    config,
    options,
    print,
    graph,
    artifactsDir,
    lockPath,
    lock: await readLock(lockPath, config.profile),
    records: new Map(),
    outHash: {},
    hashOnce: (p) => hashes.get(p) ?? (hashes.set(p, hashPath(p)), hashes.get(p)!),
    graphs: new CodeGraphs(),
  };
  // Start every planned stage's `deno info` now; they run in parallel while earlier stages run.
  for (const name of planned) {
    if (config.stages[name].mod.implemented) state.graphs.graph(config.stages[name].module).catch(() => {});
  }

  const t0 = performance.now();
  let failed: string | undefined;
  for (const name of config.order) {
    if (!planned.has(name)) continue;
    let record: StageRecord;
    if (failed === undefined) record = await visitStage(state, name);
    else {
      print(`${name}: not run (stage "${failed}" failed)`);
      record = { name, status: "missing", summary: { reason: `not run: stage "${failed}" failed` } };
    }
    state.records.set(name, record);
    if (record.status === "failed") failed = name;
    await saveResults(state);
  }

  const visited = [...state.records.values()];
  const ran = visited.filter((r) => r.status === "done").map((r) => r.name);
  const skipped = visited.filter((r) => r.status === "cached").map((r) => r.name);
  const seconds = (performance.now() - t0) / 1000;
  const failedNote = failed ? `, "${failed}" failed` : "";
  print(
    `pipeline (${config.profile}): ${ran.length} ran, ${skipped.length} skipped${failedNote} in ${
      seconds.toFixed(1)
    }s`,
  );
  const html = config.stages.report ? `${config.stages.report.out}/index.html` : undefined;
  return {
    exit_code: failed ? 1 : 0,
    profile: config.profile,
    statuses: Object.fromEntries(config.order.map((n) => [n, recordOf(state, n).status])),
    ran,
    skipped,
    results_path: `${artifactsDir}/results.json`,
    report_html: html && (await pathExists(html)) ? html : undefined,
  };
}

/** Skip, run or report one stage; returns its record (the lock is updated on success). */
async function visitStage(state: RunState, name: string): Promise<StageRecord> {
  const { config, lock, print } = state;
  const stage = config.stages[name];
  if (!stage.mod.implemented) {
    const module = relative(config.root, stage.module);
    print(`${name}: not implemented yet (${module}), skipped; downstream stages still run`);
    state.outHash[name] = "not_implemented";
    if (lock.stages[name]) {
      delete lock.stages[name];
      await writeLock(state.lockPath, lock);
    }
    return { name, status: "not_implemented" };
  }

  const inputs = await stageInputs(state, stage);
  const key = sha256(canonicalJson(inputs));
  const forced = isForced(state.options, name);
  const entry = lock.stages[name];
  let why = forced
    ? "forced"
    : !entry
    ? "no lock entry"
    : entry.key !== key
    ? changedInputs(entry.inputs, inputs)
    : "";
  if (!why) {
    const check = await verifyOut(stage.out, entry.manifest);
    if (check.ok) {
      if (check.refreshed) await writeLock(state.lockPath, lock);
      print(`${name}: unchanged, skipped (key ${key.slice(0, 8)}…)`);
      state.outHash[name] = entry.out_hash;
      return { name, status: "cached", summary: entry.summary, seconds: entry.seconds, out: stage.out };
    }
    why = check.reason ?? "out folder changed";
  }

  print(`${name}: running (${why})`);
  const depDirs: Record<string, string> = {};
  const byRole = new Map<string, string[]>();
  for (const d of upstreamOf(state.graph, name)) {
    if (d === name || !state.records.get(d)?.out) continue;
    depDirs[d] = config.stages[d].out;
    const role = roleOf(config.stages[d].module);
    byRole.set(role, [...byRole.get(role) ?? [], d]);
  }
  // An upstream stage is also found by its role (`depDirs.fetch` for a stage "seg_fetch" running
  // fetch.ts), so one stage module serves both tracks; a role two upstream stages share is left out.
  for (const [role, names] of byRole) {
    if (names.length === 1 && !(role in depDirs)) depDirs[role] = depDirs[names[0]];
  }
  const resumeDir = await prepareResume(
    stage.out,
    key,
    forced,
    (line) => print(`${name}: ${line}`),
    config.root,
  );
  const result = await runStage(state, stage, depDirs, resumeDir);
  if (result.ok) await removePath(resumeDir);
  if (!result.ok) {
    print(`${name}: FAILED after ${result.seconds.toFixed(1)}s: ${result.error}`);
    if (result.where) print(result.where);
    print(`${name}: partial output left in ${relative(config.root, result.tmp)} (removed by the next run)`);
    return { name, status: "failed", summary: { error: result.error }, seconds: result.seconds };
  }
  lock.stages[name] = {
    key,
    inputs,
    out: relative(config.root, stage.out),
    out_hash: result.out_hash,
    manifest: result.manifest,
    summary: result.summary,
    finished_at: new Date().toISOString(),
    seconds: result.seconds,
  };
  await writeLock(state.lockPath, lock);
  print(`${name}: done in ${result.seconds.toFixed(1)}s${formatSummary(result.summary)}`);
  state.outHash[name] = result.out_hash;
  return { name, status: "done", summary: result.summary, seconds: result.seconds, out: stage.out };
}

/**
 * The hashed inputs of a stage, by name: "params", "code pipeline/data/dataset.ts",
 * "npm zod" (its version), "dep data/images" (a dep path), "stage fetch" (its out hash).
 */
async function stageInputs(state: RunState, stage: StageConfig): Promise<Record<string, string>> {
  const { config, hashOnce } = state;
  const name = (file: string) => {
    const rel = relative(config.root, file);
    return rel.startsWith("..") ? file : rel;
  };
  const inputs: Record<string, string> = {
    params: sha256(canonicalJson({ params: stage.params, seed: config.seed })),
    ...await codeInputs(await state.graphs.graph(stage.module), name, hashOnce),
  };
  for (const p of stage.path_deps) inputs[`dep ${name(p)}`] = await hashOnce(p);
  for (const d of stage.stage_deps) inputs[`stage ${d}`] = state.outHash[d] ?? "missing";
  return inputs;
}

/** Changed inputs named on the "running (...)" line; the rest are counted. */
const MAX_NAMED = 6;

/** Which inputs differ from the lock's (new or changed first, then gone), for the "running (...)" line. */
function changedInputs(before: Record<string, string> | undefined, now: Record<string, string>): string {
  if (!before) return "params, code or inputs changed";
  // A lock written before code keys came from the import graph.
  if (!Object.keys(before).some((k) => k.startsWith("code "))) {
    return "changed: code key (now from the imports)";
  }
  const names = [
    ...Object.keys(now).filter((k) => before[k] !== now[k]),
    ...Object.keys(before).filter((k) => !(k in now)),
  ];
  if (names.length === 0) return "params, code or inputs changed";
  const more = names.length - MAX_NAMED;
  return `changed: ${names.slice(0, MAX_NAMED).join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

type StageRun =
  | {
    ok: true;
    seconds: number;
    summary: Record<string, unknown>;
    manifest: ManifestEntry[];
    out_hash: string;
  }
  | { ok: false; seconds: number; error: string; where?: string; tmp: string };

/** Run one stage into `<out>.tmp-<pid>`; on success swap it in for the old out folder. */
async function runStage(
  state: RunState,
  stage: StageConfig,
  depDirs: Record<string, string>,
  resumeDir: string,
): Promise<StageRun> {
  const { config, artifactsDir } = state;
  const tmp = `${stage.out}.tmp-${Deno.pid}`;
  await removePath(tmp);
  await Deno.mkdir(tmp, { recursive: true });
  const ctx: StageContext = {
    name: stage.name,
    profile: config.profile,
    params: stage.parsed_params,
    seed: config.seed,
    root: config.root,
    outDir: tmp,
    resumeDir,
    depDirs,
    artifactsDir,
    cacheDir: resolve(config.root, "data", "cache"),
    force: isForced(state.options, stage.name),
    log: createLogger(stage.name),
    progress: (label, total, unit) =>
      createProgress(label.startsWith(stage.name) ? label : `${stage.name} ${label}`, total, unit),
  };
  const start = performance.now();
  let summary: Record<string, unknown>;
  try {
    summary = (await stage.mod.run(ctx))?.summary ?? {};
  } catch (e) {
    const seconds = (performance.now() - start) / 1000;
    if (!(e instanceof Error)) return { ok: false, seconds, error: String(e), tmp };
    // An expected failure's message says it all; a bug shows its first frames; verbose: the whole stack.
    const frames = (e.stack ?? "").split("\n").filter((l) => l.trim().startsWith("at "));
    const verbose = state.options.verbose ?? Deno.env.get("EDGESLIM_VERBOSE") === "1";
    const where = verbose ? frames.join("\n") : isExpected(e) ? "" : frames.slice(0, 4).join("\n");
    return { ok: false, seconds, error: e.message, where, tmp };
  }
  const seconds = (performance.now() - start) / 1000;
  const manifest = await buildManifest(tmp);
  // Swap: old out away, new in, then drop the old; a kill in between leaves only garbage.
  const old = `${stage.out}.old-${Deno.pid}`;
  const hadOld = await pathExists(stage.out);
  if (hadOld) await Deno.rename(stage.out, old);
  await Deno.rename(tmp, stage.out);
  if (hadOld) await removePath(old);
  return { ok: true, seconds, summary, manifest, out_hash: manifestHash(manifest) };
}

/** Whether `--force` applies to stage `name` (every planned stage, or with `only` just that one). */
function isForced(options: RunOptions, name: string): boolean {
  return options.force === true && (options.only ?? name) === name;
}

/** Write results.json / results.csv from every stage's status so far. */
async function saveResults(state: RunState): Promise<void> {
  const { config } = state;
  await writeResults({
    artifactsDir: state.artifactsDir,
    profile: config.profile,
    pipelineFile: relative(config.root, config.file),
    pipelineSha256: config.sha256,
    seed: config.seed,
    stages: config.order.map((name) => ({
      ...recordOf(state, name),
      role: roleOf(config.stages[name].module),
    })),
  });
}

/** A stage's role: its module's file name without the extension (fetch, train, …). */
function roleOf(module: string): string {
  return basename(module).replace(/\.[^.]+$/, "");
}

/** This run's record of a stage, else what the lock says of one not visited (yet). */
function recordOf(state: RunState, name: string): StageRecord {
  const record = state.records.get(name);
  if (record) return record;
  const stage = state.config.stages[name];
  const status = unvisitedStatus(stage, state.lock);
  const entry = state.lock.stages[name];
  return status === "cached"
    ? { name, status, summary: entry.summary, seconds: entry.seconds, out: stage.out }
    : { name, status };
}

/** Status of a stage this run did not visit (outside `--only`'s plan, not yet reached). */
function unvisitedStatus(stage: StageConfig, lock: LockFile): StageStatus {
  if (!stage.mod.implemented) return "not_implemented";
  // Only the lock entry is checked here: verifying the folder is the visit's job.
  return lock.stages[stage.name] && pathExistsSync(stage.out) ? "cached" : "missing";
}

/**
 * The folder where a stage keeps what an interrupted run finished (`<out>.resume-<key>`): kept
 * across a kill, used again by a run with the same inputs, removed when the stage succeeds.
 * Folders of other keys (the inputs changed) and, with --force, this key's are discarded.
 */
async function prepareResume(
  out: string,
  key: string,
  forced: boolean,
  say: (line: string) => void,
  root: string,
): Promise<string> {
  const dir = `${out}.resume-${key.slice(0, 12)}`, base = basename(out);
  await Deno.mkdir(dirname(out), { recursive: true });
  for (const e of await Array.fromAsync(Deno.readDir(dirname(out)))) {
    const path = `${dirname(out)}/${e.name}`;
    if (!e.name.startsWith(`${base}.resume-`)) continue;
    if (path !== dir || forced) {
      await removePath(path);
      say(`discarded ${e.name} (${forced ? "--force" : "its inputs changed"})`);
    } else say(`resuming: keeping what ${relative(root, dir)} holds`);
  }
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Remove `<x>.tmp-<pid>` / `<x>.old-<pid>` left by runs that are no longer alive. */
async function cleanGarbage(dirs: string[], print: (line: string) => void): Promise<void> {
  for (const dir of new Set(dirs)) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = GARBAGE.exec(e.name);
      if (!m || Number(m[3]) === Deno.pid || processAlive(Number(m[3]))) continue;
      await removePath(`${dir}/${e.name}`);
      if (e.isDirectory) print(`cleaned up ${e.name} left by an interrupted run`);
    }
  }
}

/** ` — k=v k=v` from a stage summary, short enough for one line. */
export function formatSummary(summary: Record<string, unknown>): string {
  const parts = Object.entries(summary).map(([k, v]) => {
    let s = typeof v === "number" && !Number.isInteger(v)
      ? String(Number(v.toPrecision(4)))
      : typeof v === "string"
      ? v
      : JSON.stringify(v);
    if (s.length > 60) s = `${s.slice(0, 59)}…`;
    return `${k}=${s}`;
  });
  const line = parts.join(" ");
  return line ? ` — ${line.length > 200 ? `${line.slice(0, 199)}…` : line}` : "";
}

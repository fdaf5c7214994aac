/**
 * Load and validate a pipeline file before any stage runs.
 *
 * Every problem is collected (YAML syntax, file structure, deps, cycles, profiles, each
 * stage's params checked by the stage's own `paramsSchema`) and thrown together as one
 * {@linkcode PipelineConfigError}; each message names the file, the field path and what was
 * expected, e.g. `pipeline.yaml: stages.train.params.epochs: expected a number, got "ten"`.
 */
import { dirname, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseDocument } from "yaml";
import { z } from "zod";
import { pathExistsSync } from "./atomic_write.ts";
import { sha256 } from "./hash.ts";
import { findCycles, topoOrder } from "./graph.ts";
import { describeIssue, describeValue } from "./_issues.ts";
import { ExpectedError } from "./errors.ts";
import type { StageModule } from "./types.ts";

/** All validation errors of a pipeline file; nothing has run when this is thrown (an expected failure). */
export class PipelineConfigError extends ExpectedError {
  /** One line per problem, each starting with the file name. */
  readonly errors: string[];
  constructor(errors: string[]) {
    super(`${errors.length} error(s) in the pipeline file:\n${errors.map((e) => `  ${e}`).join("\n")}`);
    this.name = "PipelineConfigError";
    this.errors = errors;
  }
}

/** A stage module as imported; `implemented` is false for declared-but-unwritten stages. */
export interface LoadedStageModule extends StageModule {
  implemented: boolean;
}

/** One stage after validation: paths resolved, params merged with the profile and parsed. */
export interface StageConfig {
  name: string;
  /** Absolute path of the module file; its import graph is the stage's code key (code_graph.ts). */
  module: string;
  /** Names of the stages this one depends on. */
  stage_deps: string[];
  /** Absolute dep paths (files or folders of data; code is found from the module's imports). */
  path_deps: string[];
  /** Absolute out folder, `{profile}` substituted. */
  out: string;
  /** Params after the profile's overrides, before parsing (hashed into the cache key). */
  params: Record<string, unknown>;
  /** Params as parsed by the stage's `paramsSchema` (defaults applied); given to `run`. */
  parsed_params: Record<string, unknown>;
  mod: LoadedStageModule;
}

/** A validated pipeline file for one profile. */
export interface PipelineConfig {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Folder of the pipeline file: every path in it is relative to this. */
  root: string;
  /** sha256 of the file's text. */
  sha256: string;
  seed: number;
  profile: string;
  /** Stage names in run order. */
  order: string[];
  stages: Record<string, StageConfig>;
}

/** Options of {@linkcode loadPipeline}. */
export interface LoadOptions {
  /** Profile to select. @default the file's `default_profile`, else "default" */
  profile?: string;
  /** How the file is named in messages. @default the path as given */
  label?: string;
}

const STAGE_KEYS = ["module", "deps", "out", "params"] as const;
const TOP_KEYS = ["version", "seed", "default_profile", "stages", "profiles"] as const;
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

const stageSchema = z.strictObject({
  module: z.string().min(1),
  deps: z.array(z.string().min(1)).default([]),
  out: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
});

const fileSchema = z.strictObject({
  version: z.literal(1),
  seed: z.int(),
  default_profile: z.string().min(1).optional(),
  stages: z.record(z.string(), stageSchema),
  profiles: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

/**
 * Parse and validate `file` for one profile, importing every stage module to check its params.
 * Throws {@linkcode PipelineConfigError} listing every problem found.
 *
 * @example
 * ```ts ignore
 * import { loadPipeline } from "./config.ts";
 * const config = await loadPipeline("pipeline.yaml", { profile: "quick" });
 * console.log(config.order); // ["fetch", "train", ...]
 * ```
 */
export async function loadPipeline(file: string, options: LoadOptions = {}): Promise<PipelineConfig> {
  const fromCwd = relative(Deno.cwd(), resolve(file));
  const label = options.label ?? (fromCwd.startsWith("..") ? file : fromCwd);
  const abs = resolve(file);
  const root = dirname(abs);
  let text: string;
  try {
    text = await Deno.readTextFile(abs);
  } catch (e) {
    throw new PipelineConfigError([`${label}: cannot read the pipeline file: ${(e as Error).message}`]);
  }

  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new PipelineConfigError(doc.errors.map((e) => {
      const at = e.linePos?.[0];
      const [head, ...context] = e.message.split("\n");
      const msg = head.replace(/ at line \d+, column \d+:?$/, "");
      const snippet = context.filter((l) => l.trim() !== "").map((l) => `    ${l}`).join("\n");
      return `${label}:${at ? `${at.line}:${at.col}` : "?"}: YAML syntax error: ${msg}${
        snippet ? `\n${snippet}` : ""
      }`;
    }));
  }
  const data: unknown = doc.toJS();

  const errors: string[] = [];
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const expectedKeys = issue.path.length === 0
        ? TOP_KEYS
        : issue.path.length === 2
        ? STAGE_KEYS
        : undefined;
      errors.push(`${label}: ${describeIssue(issue, data, expectedKeys)}`);
    }
    // Without a valid structure the later checks would only repeat the same problems.
    throw new PipelineConfigError(errors);
  }
  const spec = parsed.data;
  const names = Object.keys(spec.stages);
  const nameList = names.join(", ");

  // Profile selection and overrides.
  const profileNames = Object.keys(spec.profiles);
  const profile = options.profile ?? spec.default_profile ?? "default";
  if (spec.default_profile !== undefined && !(spec.default_profile in spec.profiles)) {
    errors.push(
      `${label}: default_profile: unknown profile "${spec.default_profile}" (expected one of: ${
        profileNames.join(", ") || "none defined"
      })`,
    );
  }
  const profileKnown = profile in spec.profiles || (profileNames.length === 0 && profile === "default");
  if (!profileKnown) {
    errors.push(
      `${label}: profile "${profile}": unknown profile (expected one of: ${
        profileNames.join(", ") || "none defined"
      })`,
    );
  }
  let seed = spec.seed;
  for (const [pname, overrides] of Object.entries(spec.profiles)) {
    for (const [key, value] of Object.entries(overrides)) {
      const path = `profiles.${pname}.${key}`;
      if (key === "seed") {
        if (!Number.isInteger(value)) {
          errors.push(`${label}: ${path}: expected an integer, got ${describeValue(value)}`);
        } else if (pname === profile) seed = value as number;
      } else if (!(key in spec.stages)) {
        errors.push(`${label}: ${path}: unknown stage "${key}" (expected one of: ${nameList}, or seed)`);
      } else if (!isPlainObject(value)) {
        errors.push(`${label}: ${path}: expected a mapping of params, got ${describeValue(value)}`);
      }
    }
  }
  const overrides: Record<string, unknown> = profileKnown ? spec.profiles[profile] ?? {} : {};

  // Names, deps, outs.
  const graph: Record<string, string[]> = {};
  const outs = new Map<string, string>();
  for (const name of names) {
    const stage = spec.stages[name];
    if (!NAME.test(name) || name === "seed") {
      errors.push(
        `${label}: stages.${name}: invalid stage name (expected letters, digits, "_" or "-", not "seed")`,
      );
    }
    graph[name] = [];
    stage.deps.forEach((dep, i) => {
      if (dep in spec.stages) graph[name].push(dep);
      else if (!pathExistsSync(resolve(root, dep))) {
        errors.push(
          `${label}: stages.${name}.deps[${i}]: "${dep}" is neither a stage name (${nameList}) nor an existing path`,
        );
      }
    });
    const out = resolve(root, stage.out.replaceAll("{profile}", profile));
    const other = outs.get(out);
    if (other) {
      errors.push(`${label}: stages.${name}.out: "${stage.out}" is also the out folder of stage "${other}"`);
    }
    outs.set(out, name);
  }
  for (const cycle of findCycles(graph)) errors.push(`${label}: stages: dependency cycle: ${cycle}`);

  // Import each module and check its params with its own schema.
  const stages: Record<string, StageConfig> = {};
  for (const name of names) {
    const stage = spec.stages[name];
    const modulePath = resolve(root, stage.module);
    const mod = await importStage(modulePath, stage.module, `${label}: stages.${name}.module`, errors);
    const stageOverrides = isPlainObject(overrides[name]) ? overrides[name] as Record<string, unknown> : {};
    const params = deepMerge(stage.params, stageOverrides);
    let parsedParams = params;
    if (mod) {
      const result = mod.paramsSchema.safeParse(params);
      if (result.success) parsedParams = result.data as Record<string, unknown>;
      else {
        const shape = (mod.paramsSchema as unknown as { shape?: Record<string, unknown> }).shape;
        for (const issue of result.error.issues) {
          const fromProfile = hasPath(stageOverrides, issue.path) ? ` (set by profile "${profile}")` : "";
          const keys = issue.path.length === 0 && shape ? Object.keys(shape) : undefined;
          errors.push(
            `${label}: ${describeIssue(issue, params, keys, `stages.${name}.params`)}${fromProfile}`,
          );
        }
      }
    }
    stages[name] = {
      name,
      module: modulePath,
      stage_deps: graph[name],
      path_deps: stage.deps.filter((d) => !(d in spec.stages)).map((d) => resolve(root, d)),
      out: resolve(root, stage.out.replaceAll("{profile}", profile)),
      params,
      parsed_params: parsedParams,
      mod: mod as LoadedStageModule,
    };
  }

  if (errors.length > 0) throw new PipelineConfigError(errors);
  return { file: abs, root, sha256: sha256(text), seed, profile, order: topoOrder(graph), stages };
}

/** Import a stage module and check its exports; pushes an error and returns undefined on failure. */
async function importStage(
  path: string,
  given: string,
  where: string,
  errors: string[],
): Promise<LoadedStageModule | undefined> {
  if (!pathExistsSync(path)) {
    errors.push(`${where}: file "${given}" does not exist`);
    return undefined;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (e) {
    errors.push(`${where}: cannot import "${given}": ${String((e as Error).message).split("\n")[0]}`);
    return undefined;
  }
  const schema = mod.paramsSchema as { safeParse?: unknown } | undefined;
  if (typeof schema?.safeParse !== "function") {
    errors.push(`${where}: "${given}" must export \`paramsSchema\` (a zod schema)`);
    return undefined;
  }
  if (typeof mod.run !== "function") {
    errors.push(`${where}: "${given}" must export a \`run(ctx)\` function`);
    return undefined;
  }
  return {
    paramsSchema: mod.paramsSchema as StageModule["paramsSchema"],
    run: mod.run as StageModule["run"],
    implemented: mod.implemented !== false,
  };
}

/**
 * Merge `over` into `base`: mappings merge key by key, anything else (lists too) replaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deepMerge } from "./config.ts";
 * const merged = deepMerge({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] });
 * assert(JSON.stringify(merged) === '{"a":{"b":1,"c":3},"d":[2]}');
 * ```
 */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k])
      ? deepMerge(out[k] as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function hasPath(obj: unknown, path: readonly PropertyKey[]): boolean {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || !(String(key) in (cur as object))) return false;
    cur = (cur as Record<string, unknown>)[String(key)];
  }
  return path.length > 0;
}

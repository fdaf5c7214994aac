/**
 * The code a module runs, derived from its real import graph (`deno info --json`), so cache
 * keys never depend on a hand-written list of code paths.
 *
 * A module's code is:
 * - every local (`file:`) module reached from it through runtime imports, static or dynamic
 *   with a literal specifier (`import type` edges are left out: they never run);
 * - every file named by a `new URL("<literal>", import.meta.url)` or
 *   `import.meta.resolve("<literal>")` in those modules (outside comments): workers, `.c` /
 *   `.py` sources, scripts copied to a device. A named JS/TS module brings its own import graph; a name that
 *   does not exist is recorded as missing, so its appearance changes the key; a folder is left
 *   out (that is a root to read data from, not code);
 * - the resolved version of every npm package reached, dependencies included: deno.lock pins
 *   them, and hashing only the versions this graph uses (not the whole lock) means adding a
 *   package for one stage does not rerun the others, and a bump names the package;
 * - remote (`jsr:`, `https:`) modules, by the content of their cached copy.
 *
 * `deno info` runs with the nearest deno.json above the module (else above the working
 * directory), the config a `deno run` of that module uses. One `deno info` per root,
 * cached by {@linkcode CodeGraphs}; ~20–100 ms each.
 */
import { ExpectedError } from "./errors.ts";
import { dirname, extname, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hashFile, sha256 } from "./hash.ts";

/** The code of one module, as found by {@linkcode CodeGraphs.graph}. */
export interface CodeGraph {
  /** Absolute path of the root module. */
  root: string;
  /** Absolute paths of the local files it runs or reads as code, sorted (the root included). */
  files: string[];
  /** Files named by a `new URL(…, import.meta.url)` literal that do not exist, sorted. */
  missing: string[];
  /** npm package name → resolved version(s) ("1.2.3" or "1.2.3,2.0.0"), dependencies included. */
  npm: Record<string, string>;
  /** Remote module specifier → absolute path of its cached copy ("" when not cached). */
  remote: Record<string, string>;
}

/** The parts of `deno info --json` read here. */
interface DenoInfo {
  roots: string[];
  modules: InfoModule[];
  redirects: Record<string, string>;
  npmPackages?: Record<string, { name: string; version: string; dependencies?: string[] }>;
}

interface InfoModule {
  specifier: string;
  kind?: string;
  local?: string;
  error?: string;
  npmPackage?: string;
  dependencies?: { specifier: string; code?: { specifier?: string; error?: string } }[];
}

const MODULE_EXTS = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"]);
const STR = String.raw`(?:"([^"\n]+)"|'([^'\n]+)'|\x60([^\x60$\n]+)\x60)`;
/** `new URL("x", import.meta.url)` and `import.meta.resolve("x")` with a literal string. */
const URL_LITERALS = [
  new RegExp(String.raw`new\s+URL\(\s*${STR}\s*,\s*import\.meta\.url\s*\)`, "g"),
  new RegExp(String.raw`import\.meta\.resolve\(\s*${STR}\s*\)`, "g"),
];

/**
 * Code graphs of modules, each root's `deno info` run once per instance (one instance per
 * pipeline run, so a file edited between runs is seen).
 *
 * @example
 * ```ts ignore
 * import { CodeGraphs } from "./code_graph.ts";
 * const graph = await new CodeGraphs().graph("pipeline/stages/train.ts");
 * console.log(graph.files.length, graph.npm["zod"]);
 * ```
 */
export class CodeGraphs {
  #infos = new Map<string, Promise<DenoInfo>>();
  #graphs = new Map<string, Promise<CodeGraph>>();

  /** The code graph of the module at `path` (absolute or relative to the working directory). */
  graph(path: string): Promise<CodeGraph> {
    const abs = resolve(path);
    let graph = this.#graphs.get(abs);
    if (!graph) this.#graphs.set(abs, graph = this.#build(abs));
    return graph;
  }

  #info(path: string): Promise<DenoInfo> {
    let info = this.#infos.get(path);
    if (!info) this.#infos.set(path, info = denoInfo(path));
    return info;
  }

  async #build(rootPath: string): Promise<CodeGraph> {
    const files = new Set<string>(), missing = new Set<string>(), npmIds = new Set<string>();
    const remote: Record<string, string> = {};
    const npmPackages: NonNullable<DenoInfo["npmPackages"]> = {};
    const roots = [rootPath], seenRoots = new Set(roots);
    while (roots.length > 0) {
      const root = roots.shift()!;
      const info = await this.#info(root);
      Object.assign(npmPackages, info.npmPackages ?? {});
      const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
      const follow = (s: string) => {
        for (let i = 0; i < 10 && info.redirects[s] !== undefined; i++) s = info.redirects[s];
        return s;
      };
      const seen = new Set<string>(), queue = info.roots.map(follow);
      while (queue.length > 0) {
        const specifier = queue.pop()!;
        if (seen.has(specifier)) continue;
        seen.add(specifier);
        const m = bySpecifier.get(specifier);
        if (!m || m.kind === "node" || specifier.startsWith("node:")) continue;
        if (m.error) throw new ExpectedError(`Code graph of "${rootPath}": ${specifier}: ${m.error}`);
        if (m.kind === "npm") {
          if (m.npmPackage) npmIds.add(m.npmPackage);
          continue;
        }
        if (specifier.startsWith("file:")) {
          const file = fileURLToPath(specifier);
          files.add(file);
          for (const target of await urlLiterals(file)) {
            const kind = await Deno.stat(target).then((s) => (s.isFile ? "file" : "dir"), () => "missing");
            if (kind === "missing") missing.add(target);
            else if (kind === "file") {
              files.add(target);
              if (MODULE_EXTS.has(extname(target)) && !seenRoots.has(target)) {
                seenRoots.add(target);
                roots.push(target);
              }
            }
          }
        } else remote[specifier] = m.local ?? "";
        for (const dep of m.dependencies ?? []) {
          // Type-only imports have no `code` part; unresolvable ones fail at import, not here.
          if (dep.code?.specifier && !dep.code.error) queue.push(follow(dep.code.specifier));
        }
      }
    }
    return {
      root: rootPath,
      files: [...files].sort(),
      missing: [...missing].filter((f) => !files.has(f)).sort(),
      npm: npmVersions(npmIds, npmPackages),
      remote: Object.fromEntries(Object.entries(remote).sort(([a], [b]) => (a < b ? -1 : 1))),
    };
  }
}

/** name → versions of `ids` and everything they depend on. */
function npmVersions(
  ids: Set<string>,
  packages: NonNullable<DenoInfo["npmPackages"]>,
): Record<string, string> {
  const versions = new Map<string, Set<string>>();
  const queue = [...ids], seen = new Set<string>();
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const pkg = packages[id];
    // Not in the snapshot (should not happen): the id itself still names the version.
    const [name, version] = pkg ? [pkg.name, pkg.version] : splitNpmId(id);
    if (!versions.has(name)) versions.set(name, new Set());
    versions.get(name)!.add(version);
    queue.push(...(pkg?.dependencies ?? []));
  }
  return Object.fromEntries(
    [...versions.keys()].sort().map((name) => [name, [...versions.get(name)!].sort().join(",")]),
  );
}

/** "@scope/name@1.2.3_peer@4" → ["@scope/name", "1.2.3_peer@4"]. */
function splitNpmId(id: string): [string, string] {
  const at = id.indexOf("@", 1);
  return at < 0 ? [id, ""] : [id.slice(0, at), id.slice(at + 1)];
}

/** Files named by `new URL("…", import.meta.url)` / `import.meta.resolve("…")` literals in `file`. */
async function urlLiterals(file: string): Promise<string[]> {
  if (!MODULE_EXTS.has(extname(file))) return [];
  const text = await Deno.readTextFile(file);
  const base = pathToFileURL(file);
  const out: string[] = [];
  for (const pattern of URL_LITERALS) {
    for (const match of text.matchAll(pattern)) {
      // Examples in doc comments and commented-out lines are not code.
      const lineStart = text.lastIndexOf("\n", match.index) + 1;
      if (/^\s*(\*|\/\/|\/\*)/.test(text.slice(lineStart, match.index))) continue;
      const literal = match[1] ?? match[2] ?? match[3];
      const isResolve = match[0].startsWith("import");
      // import.meta.resolve also takes bare specifiers (npm), which are not local files.
      if (isResolve && !/^(\.{1,2}\/|\/|file:)/.test(literal)) continue;
      if (literal.endsWith("/") || literal === "." || literal === "..") continue;
      let url: URL;
      try {
        url = new URL(literal, base);
      } catch {
        continue;
      }
      if (url.protocol === "file:") out.push(fileURLToPath(url));
    }
  }
  return out;
}

/** The nearest deno.json / deno.jsonc in `dir` or above it. */
function findConfig(dir: string): string | undefined {
  for (let d = dir;; d = dirname(d)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const candidate = `${d}/${name}`;
      try {
        if (Deno.statSync(candidate).isFile) return candidate;
      } catch {
        // not here
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

/** `deno info --json <path>` with the config a `deno run` of it would use. */
async function denoInfo(path: string): Promise<DenoInfo> {
  const config = findConfig(dirname(path)) ?? findConfig(Deno.cwd());
  const args = ["info", "--json", ...(config ? ["--config", config] : []), path];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (code !== 0) {
    const why = new TextDecoder().decode(stderr).trim().split("\n").slice(0, 3).join(" ");
    throw new ExpectedError(`Cannot list the imports of "${path}" (deno info exited ${code}): ${why}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as DenoInfo;
}

/**
 * The graph as named cache-key inputs: `code <file>` → content hash (or "missing"),
 * `npm <name>` → version(s), `remote <specifier>` → content hash of the cached copy.
 * `name` says how a file is called (e.g. relative to the pipeline file's folder).
 */
export async function codeInputs(
  graph: CodeGraph,
  name: (file: string) => string,
  hashOnce: (path: string) => Promise<string> = hashFile,
): Promise<Record<string, string>> {
  const entries: [string, string][] = [];
  for (const f of graph.files) entries.push([`code ${name(f)}`, await hashOnce(f)]);
  for (const f of graph.missing) entries.push([`code ${name(f)}`, "missing"]);
  for (const [pkg, version] of Object.entries(graph.npm)) entries.push([`npm ${pkg}`, version]);
  for (const [spec, local] of Object.entries(graph.remote)) {
    entries.push([`remote ${spec}`, local ? await hashOnce(local) : spec]);
  }
  return Object.fromEntries(entries);
}

const processGraphs = new CodeGraphs();
const codeHashes = new Map<string, Promise<string>>();

/**
 * sha256 of the code a module runs (its {@linkcode CodeGraph}, files named relative to the
 * module's folder, so a moved checkout keeps its keys): the key of caches made by that code.
 * Computed once per process: the code that runs is the code loaded at import.
 *
 * @example
 * ```ts ignore
 * import { codeHash } from "./code_graph.ts";
 * const key = await codeHash(new URL("../data/synthetic.ts", import.meta.url));
 * console.log(key.slice(0, 12));
 * ```
 */
export function codeHash(module: string | URL): Promise<string> {
  const path = module instanceof URL || module.startsWith("file:") ? fileURLToPath(module) : resolve(module);
  let hash = codeHashes.get(path);
  if (!hash) {
    hash = processGraphs.graph(path)
      .then((graph) => codeInputs(graph, (f) => relative(dirname(path), f)))
      .then((inputs) => sha256(Object.entries(inputs).map(([k, v]) => `${k}\0${v}`).sort().join("\n")));
    codeHashes.set(path, hash);
    hash.catch(() => codeHashes.delete(path)); // a failed `deno info` is retried next time
  }
  return hash;
}

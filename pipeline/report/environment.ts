/**
 * What the report records about where it was made: Deno and the pinned library versions,
 * the git commit, the report date. The benchmark machine and devices come from results.json.
 */
import { join } from "node:path";

/** Facts gathered when the report is built (not numbers of results: those come from results.json). */
export interface ReportEnvironment {
  deno: string;
  /** npm package → pinned version, from deno.json's import map. */
  packages: Record<string, string>;
  /** `git rev-parse HEAD`, or "unknown" outside a git checkout. */
  commit: string;
  /** ISO date and time the report was built. */
  date: string;
}

/** Packages whose versions the report names. */
export const REPORTED_PACKAGES = [
  "@tensorflow/tfjs",
  "onnxruntime-node",
  "vega",
  "vega-lite",
  "sharp",
] as const;

/** The pinned versions of `names` in `<root>/deno.json` (`npm:name@version` imports). */
export async function pinnedVersions(
  root: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  let imports: Record<string, string> = {};
  try {
    imports = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))).imports ?? {};
  } catch {
    // No deno.json: versions are unknown.
  }
  const out: Record<string, string> = {};
  for (const name of names) {
    const spec = imports[name];
    const version = spec?.match(/^npm:(?:@[^/]+\/)?[^@]+@(.+)$/)?.[1];
    out[name] = version ?? "unknown";
  }
  return out;
}

/** The commit checked out in `root`, or "unknown" when git or the repository is absent. */
export async function gitCommit(root: string): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "HEAD"],
      cwd: root,
      stdout: "piped",
      stderr: "null",
    })
      .output();
    const sha = new TextDecoder().decode(out.stdout).trim();
    return out.success && /^[0-9a-f]{40}$/.test(sha) ? sha : "unknown";
  } catch {
    return "unknown";
  }
}

/** Gather the report environment of the checkout at `root`. */
export async function reportEnvironment(root: string): Promise<ReportEnvironment> {
  return {
    deno: Deno.version.deno,
    packages: await pinnedVersions(root, REPORTED_PACKAGES),
    commit: await gitCommit(root),
    date: new Date().toISOString(),
  };
}

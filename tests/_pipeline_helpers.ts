/**
 * Helpers for the pipeline runner tests: a temp project with fake stage modules.
 *
 * Fake stage modules live outside the repository, where the import map does not apply, so they
 * import zod through this file (`z` is re-exported below).
 */
import { runPipeline, type RunReport } from "../pipeline/core/runner.ts";

export { z } from "zod";

const HELPERS_URL = import.meta.url;

/**
 * Source of a fake stage. Params: `value` (any number, written to out.txt), `part` (written as
 * results.part.json), `fail` (throw after writing). A file `<root>/sleep-<name>` makes it write
 * part of its output, then create `<root>/started-<name>` and sleep (for the kill test).
 * Every run appends the stage name to `<root>/runs.log`.
 */
export function fakeStageSource(options: { implemented?: boolean } = {}): string {
  return `import { z } from "${HELPERS_URL}";
export const paramsSchema = z.strictObject({
  value: z.number().min(0).default(1),
  part: z.record(z.string(), z.unknown()).optional(),
  fail: z.boolean().default(false),
  big_mb: z.number().default(0),
});
${options.implemented === false ? "export const implemented = false;\n" : ""}
export async function run(ctx) {
  await Deno.writeTextFile(ctx.root + "/runs.log", ctx.name + "\\n", { append: true });
  await Deno.writeTextFile(ctx.outDir + "/out.txt", JSON.stringify({
    value: ctx.params.value, deps: Object.keys(ctx.depDirs).sort(), seed: ctx.seed,
  }));
  if (ctx.params.part) {
    await Deno.writeTextFile(ctx.outDir + "/results.part.json", JSON.stringify(ctx.params.part));
  }
  for (let i = 0; i < ctx.params.big_mb; i++) {
    const bytes = new Uint8Array(1 << 20).fill(i % 251);
    await Deno.mkdir(ctx.outDir + "/big/" + (i % 16), { recursive: true });
    await Deno.writeFile(ctx.outDir + "/big/" + (i % 16) + "/" + i + ".bin", bytes);
  }
  try {
    await Deno.stat(ctx.root + "/sleep-" + ctx.name);
    await Deno.writeTextFile(ctx.outDir + "/partial.txt", "half");
    await Deno.writeTextFile(ctx.root + "/started-" + ctx.name, String(Deno.pid));
    await new Promise((r) => setTimeout(r, 120_000));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (ctx.params.fail) throw new Error("boom in " + ctx.name);
  return { summary: { value: ctx.params.value } };
}
`;
}

/** A temp project: fake stages fetch → train → report, a dep folder src/, and a pipeline file;
 * `await using` removes it. */
export interface FakeProject extends AsyncDisposable {
  dir: string;
  file: string;
  /** Replace pipeline.yaml. */
  writePipeline(yaml: string): Promise<void>;
  /** Stage names that ran since the last call (from runs.log), then clears the log. */
  takeRuns(): Promise<string[]>;
  /** Run in-process, collecting the runner's lines. */
  run(
    options?: { profile?: string; only?: string; force?: boolean },
  ): Promise<RunReport & { lines: string[] }>;
}

/** The default pipeline of a fake project. */
export const FAKE_PIPELINE = `version: 1
seed: 7
default_profile: quick
stages:
  fetch:
    module: stages/fetch.ts
    out: artifacts/{profile}/fetch
    params: { value: 1 }
  train:
    module: stages/train.ts
    deps: [fetch, src/]
    out: artifacts/{profile}/train
    params: { value: 2 }
  report:
    module: stages/report.ts
    deps: [fetch, train]
    out: report/{profile}
profiles:
  quick:
    train: { value: 3 }
  paper: {}
`;

/** Create a fake project; `stages` overrides the source of some stage modules. */
export async function makeProject(
  yaml = FAKE_PIPELINE,
  stages: Record<string, string> = {},
): Promise<FakeProject> {
  const dir = await Deno.makeTempDir({ prefix: "edgeslim_pipeline_" });
  await Deno.mkdir(`${dir}/stages`);
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/lib.ts`, "export const x = 1;\n");
  for (const name of ["fetch", "train", "compress", "report"]) {
    await Deno.writeTextFile(`${dir}/stages/${name}.ts`, stages[name] ?? fakeStageSource());
  }
  const file = `${dir}/pipeline.yaml`;
  await Deno.writeTextFile(file, yaml);
  return {
    dir,
    file,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
    writePipeline: (text) => Deno.writeTextFile(file, text),
    async takeRuns() {
      try {
        const text = await Deno.readTextFile(`${dir}/runs.log`);
        await Deno.remove(`${dir}/runs.log`);
        return text.trim().split("\n");
      } catch {
        return [];
      }
    },
    async run(options = {}) {
      const lines: string[] = [];
      const report = await runPipeline({ file, ...options, print: (l) => lines.push(l) });
      return { ...report, lines };
    },
  };
}

/** Run `deno run -A pipeline/cli.ts ...args` from the repository root. */
export function cliCommand(args: string[]): Deno.Command {
  const root = new URL("..", import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "pipeline/cli.ts", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  });
}

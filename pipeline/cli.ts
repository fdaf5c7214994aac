/**
 * `deno task pipeline [--profile P] [--only STAGE] [--force] [--verbose] [--file pipeline.yaml]`
 *
 * Exit codes: 0 done, 1 a stage failed, 2 the pipeline file or the command line is invalid
 * (nothing ran). An expected failure (bad input, a refused zip entry, a failed device) prints its
 * message alone; a bug, or any failure with `--verbose` or EDGESLIM_VERBOSE=1, its stack too.
 */
import { parseArgs } from "node:util";
import { relative } from "node:path";
import { PipelineConfigError } from "./core/config.ts";
import { isExpected } from "./core/errors.ts";
import { runPipeline } from "./core/runner.ts";

const HELP = `Run the edgeslim pipeline (fetch → train → compress → export → bench → report).

Usage: deno task pipeline [options]

Options:
  --profile P     parameter profile from the pipeline file (default: its default_profile)
  --only STAGE    run just STAGE, plus any upstream stage that is not up to date
  --force         rerun even when unchanged (with --only: just that stage); bench re-measures
                  its devices instead of reusing their cached results
  --file F        pipeline file (default: pipeline.yaml); paths in it are relative to its folder
  --verbose       print the stack trace of a failure, expected ones too (or EDGESLIM_VERBOSE=1)
  -h, --help      show this help

Unchanged stages are skipped (see artifacts/<profile>/pipeline.lock.json).
Results: artifacts/<profile>/results.json and results.csv.`;

/** Parse `args`, run the pipeline and return the process exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        profile: { type: "string" },
        only: { type: "string" },
        force: { type: "boolean", default: false },
        file: { type: "string", default: "pipeline.yaml" },
        verbose: { type: "boolean" }, // absent: EDGESLIM_VERBOSE decides
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`pipeline: ${(e as Error).message.split("\n")[0]}\nRun with --help to see the options.`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  try {
    const report = await runPipeline({
      file: values.file,
      profile: values.profile,
      only: values.only,
      force: values.force,
      verbose: values.verbose,
    });
    if (report.report_html) console.log(`Report: ${relative(Deno.cwd(), report.report_html)}`);
    return report.exit_code;
  } catch (e) {
    if (e instanceof PipelineConfigError) {
      for (const line of e.errors) console.error(line);
      console.error(`${e.errors.length} error(s); no stage was run.`);
      return 2;
    }
    const verbose = values.verbose ?? Deno.env.get("EDGESLIM_VERBOSE") === "1";
    // A bug (or --verbose) shows where it happened; an expected failure says it all in the message.
    const stack = e instanceof Error && (verbose || !isExpected(e)) ? e.stack : undefined;
    console.error(`pipeline: ${stack ?? (e instanceof Error ? e.message : String(e))}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

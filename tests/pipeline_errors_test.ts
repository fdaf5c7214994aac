/**
 * How a failed stage is reported: an expected failure (ExpectedError) prints its message alone,
 * a bug (any other Error) its first stack frames, and `--verbose` / EDGESLIM_VERBOSE=1 the whole
 * stack of either. Also: `ctx.force` tells a stage that `--force` applies to it.
 */
import assert from "node:assert/strict";
import { type FakeProject, makeProject } from "./_pipeline_helpers.ts";
import { runPipeline } from "../pipeline/core/runner.ts";

const HELPERS = new URL("./_pipeline_helpers.ts", import.meta.url).href;
const ERRORS = new URL("../pipeline/core/errors.ts", import.meta.url).href;
const ROOT = new URL("..", import.meta.url).pathname;

/** A stage that fails as `fail` says, else writes `ctx.force` to out.txt. */
const STAGE = `import { z } from "${HELPERS}";
import { ExpectedError } from "${ERRORS}";
export const paramsSchema = z.strictObject({ fail: z.enum(["no", "expected", "bug"]).default("no") });
export async function run(ctx) {
  if (ctx.params.fail === "expected") {
    throw new ExpectedError('Refusing zip entry "../evil.txt": it would be written outside "data/cache/zip"');
  }
  if (ctx.params.fail === "bug") JSON.parse("{}").model.layers;
  await Deno.writeTextFile(ctx.outDir + "/out.txt", JSON.stringify({ force: ctx.force }));
  return { summary: {} };
}
`;

/** fetch → train, both this file's STAGE; profiles pick how fetch fails. */
const PIPELINE = `version: 1
seed: 7
default_profile: ok
stages:
  fetch:
    module: stages/fetch.ts
    out: artifacts/{profile}/fetch
  train:
    module: stages/train.ts
    deps: [fetch]
    out: artifacts/{profile}/train
profiles:
  ok: {}
  expected: { fetch: { fail: expected } }
  bug: { fetch: { fail: bug } }
`;

const project = () => makeProject(PIPELINE, { fetch: STAGE, train: STAGE });
/** Stack frame lines among printed lines (a printed line may hold several). */
const frames = (lines: string[]) => lines.join("\n").split("\n").filter((l) => /^\s+at /.test(l));

/** The runner's lines of a `verbose: true` run of `profile`. */
async function verboseRun(p: FakeProject, profile: string): Promise<string[]> {
  const lines: string[] = [];
  await runPipeline({ file: p.file, profile, verbose: true, print: (l) => lines.push(l) });
  return lines;
}

Deno.test("an expected failure prints its message and no stack; verbose prints the whole stack", async () => {
  await using p = await project();
  const r = await p.run({ profile: "expected" });
  assert.equal(r.exit_code, 1);
  const failed = r.lines.findIndex((l) => l.startsWith("fetch: FAILED after "));
  assert.match(
    r.lines[failed],
    /^fetch: FAILED after \d+\.\ds: Refusing zip entry "\.\.\/evil\.txt": it would be written outside/,
  );
  assert.match(r.lines[failed + 1], /^fetch: partial output left in artifacts\/expected\/fetch\.tmp-\d+ /);
  assert.deepEqual(frames(r.lines), [], r.lines.join("\n"));

  const verbose = await verboseRun(p, "expected");
  const stack = frames(verbose);
  // The whole stack: the stage's frame down to runPipeline (the short form stops 4 frames in).
  assert.ok(stack.length > 4 && stack.some((l) => l.includes("runPipeline")), verbose.join("\n"));
});

Deno.test("a bug in a stage still shows where it happened (4 frames; verbose: all)", async () => {
  await using p = await project();
  const r = await p.run({ profile: "bug" });
  assert.equal(r.exit_code, 1);
  assert.ok(
    r.lines.some((l) => /^fetch: FAILED after \d+\.\ds: Cannot read properties of undefined/.test(l)),
    r.lines.join("\n"),
  );
  const short = frames(r.lines);
  assert.equal(short.length, 4, r.lines.join("\n"));
  assert.ok(short[0].includes("fetch.ts"), short[0]);
  const verbose = frames(await verboseRun(p, "bug"));
  assert.ok(verbose.length > 4, verbose.join("\n"));
});

Deno.test("cli: --verbose and EDGESLIM_VERBOSE=1 show the stack of an expected failure", async () => {
  await using p = await project();
  const cli = async (args: string[], env: Record<string, string> = {}) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "pipeline/cli.ts", "--file", p.file, "--profile", "expected", ...args],
      cwd: ROOT,
      env: { EDGESLIM_VERBOSE: "", ...env },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text);
    assert.ok(text.includes("fetch: FAILED after") && text.includes('"../evil.txt"'), text);
    return frames([text]).length;
  };
  assert.equal(await cli([]), 0);
  assert.ok(await cli(["--verbose"]) > 4);
  assert.ok(await cli([], { EDGESLIM_VERBOSE: "1" }) > 4);
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "pipeline/cli.ts", "--help"],
    cwd: ROOT,
  }).output();
  assert.match(new TextDecoder().decode(help.stdout), /--verbose {7}print the stack trace/);
});

Deno.test("ctx.force is true for the stages --force applies to, else false", async () => {
  await using p = await project();
  const force = async (stage: string) =>
    JSON.parse(await Deno.readTextFile(`${p.dir}/artifacts/ok/${stage}/out.txt`)).force;
  await p.run();
  assert.deepEqual([await force("fetch"), await force("train")], [false, false]);
  await p.run({ force: true, only: "train" });
  assert.deepEqual([await force("fetch"), await force("train")], [false, true]);
  await p.run({ force: true });
  assert.deepEqual([await force("fetch"), await force("train")], [true, true]);
});

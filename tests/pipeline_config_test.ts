/** Validation of the pipeline file: every error reported, no stage run. */
import assert from "node:assert/strict";
import { PipelineConfigError } from "../pipeline/core/config.ts";
import { cliCommand, FAKE_PIPELINE, makeProject } from "./_pipeline_helpers.ts";

async function configErrors(yaml: string, options: { profile?: string; only?: string } = {}) {
  await using project = await makeProject(yaml);
  let errors: string[] | undefined;
  try {
    await project.run(options);
  } catch (e) {
    if (!(e instanceof PipelineConfigError)) throw e;
    errors = e.errors;
  }
  assert.ok(errors, "expected a PipelineConfigError");
  // The fake stages append to runs.log when they run: none may have run.
  assert.deepStrictEqual(await project.takeRuns(), []);
  return errors;
}

function assertHas(errors: string[], fragment: string): void {
  assert.ok(
    errors.some((e) => e.includes(fragment)),
    `no error contains ${JSON.stringify(fragment)}:\n${errors.join("\n")}`,
  );
}

Deno.test("unknown stage field, unknown top-level key and wrong types are named by path", async () => {
  const yaml = FAKE_PIPELINE
    .replace("seed: 7", "seed: seven\ncolour: red")
    .replace("    out: artifacts/{profile}/fetch", "    out: artifacts/{profile}/fetch\n    outs: [x]");
  const errors = await configErrors(yaml);
  assertHas(errors, 'pipeline.yaml: seed: expected a number, got "seven"');
  assertHas(errors, 'pipeline.yaml: colour: unknown field "colour" (expected one of: version, seed,');
  assertHas(
    errors,
    'pipeline.yaml: stages.fetch.outs: unknown field "outs" (expected one of: module, deps, out, params)',
  );
});

Deno.test("params rejected by the stage's own schema, profile overrides included, all at once", async () => {
  const yaml = FAKE_PIPELINE
    .replace("params: { value: 1 }", 'params: { value: "ten", bogus: 1 }')
    .replace("train: { value: 3 }", "train: { value: -1 }");
  const errors = await configErrors(yaml);
  assertHas(errors, 'pipeline.yaml: stages.fetch.params.value: expected a number, got "ten"');
  assertHas(
    errors,
    'pipeline.yaml: stages.fetch.params.bogus: unknown field "bogus" (expected one of: value,',
  );
  assertHas(
    errors,
    'stages.train.params.value: expected a number at least 0, got -1 (set by profile "quick")',
  );
  assert.deepStrictEqual(errors.length, 3);
});

Deno.test("a dependency cycle is named", async () => {
  const yaml = FAKE_PIPELINE.replace(
    "    module: stages/fetch.ts",
    "    module: stages/fetch.ts\n    deps: [train]",
  );
  const errors = await configErrors(yaml);
  assertHas(errors, "pipeline.yaml: stages: dependency cycle: fetch → train → fetch");
});

Deno.test("a dep that is neither a stage nor a path, a missing module, unknown profiles", async () => {
  const yaml = FAKE_PIPELINE
    .replace("deps: [fetch, src/]", "deps: [fetch, src/, nothere/]")
    .replace("module: stages/report.ts", "module: stages/missing.ts")
    .replace("  paper: {}", "  paper: { bogus: { value: 1 } }");
  const errors = await configErrors(yaml, { profile: "nope" });
  assertHas(
    errors,
    'stages.train.deps[2]: "nothere/" is neither a stage name (fetch, train, report) nor an existing path',
  );
  assertHas(errors, 'stages.report.module: file "stages/missing.ts" does not exist');
  assertHas(errors, 'profile "nope": unknown profile (expected one of: quick, paper)');
  assertHas(errors, 'profiles.paper.bogus: unknown stage "bogus"');
});

Deno.test("a YAML syntax error gives line and column", async () => {
  const errors = await configErrors("version: 1\nstages:\n  fetch: { module: [a\n");
  assert.ok(/pipeline\.yaml:\d+:\d+: YAML syntax error/.test(errors[0]), errors[0]);
});

Deno.test("--only with an unknown stage is a config error", async () => {
  const errors = await configErrors(FAKE_PIPELINE, { only: "nope" });
  assertHas(errors, '--only: unknown stage "nope" (expected one of: fetch, train, report)');
});

Deno.test("cli: config errors print every message and exit 2; unknown flags exit 2", async () => {
  await using project = await makeProject(
    FAKE_PIPELINE.replace("params: { value: 1 }", 'params: { value: "ten" }'),
  );
  const out = await cliCommand(["--file", project.file]).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.deepStrictEqual(out.code, 2, stderr);
  assert.ok(stderr.includes('stages.fetch.params.value: expected a number, got "ten"'), stderr);
  assert.ok(stderr.includes("no stage was run"), stderr);
  assert.deepStrictEqual(await project.takeRuns(), []);

  const bad = await cliCommand(["--fast"]).output();
  assert.deepStrictEqual(bad.code, 2);
  assert.ok(new TextDecoder().decode(bad.stderr).includes("'--fast'"));
});

/** The runner: caching, --force, --only, failures, not-implemented stages, results.json. */
import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { FAKE_PIPELINE, fakeStageSource, makeProject } from "./_pipeline_helpers.ts";
import type { ResultsFile } from "../pipeline/core/types.ts";

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await Deno.readTextFile(path)) as T;

Deno.test("second run skips every stage and says so", async () => {
  await using p = await makeProject();
  const first = await p.run();
  assert.equal(first.exit_code, 0);
  assert.deepEqual(await p.takeRuns(), ["fetch", "train", "report"]);
  const second = await p.run();
  assert.deepEqual(await p.takeRuns(), []);
  assert.deepEqual(second.skipped, ["fetch", "train", "report"]);
  assert.ok(
    second.lines.some((l) => /^fetch: unchanged, skipped \(key [0-9a-f]{8}…\)$/.test(l)),
    second.lines.join("\n"),
  );
  const lock = await readJson<{ stages: Record<string, { out_hash: string; manifest: unknown[] }> }>(
    `${p.dir}/artifacts/quick/pipeline.lock.json`,
  );
  assert.deepEqual(Object.keys(lock.stages), ["fetch", "train", "report"]);
  // The profile override reached the stage.
  assert.equal(JSON.parse(await Deno.readTextFile(`${p.dir}/artifacts/quick/train/out.txt`)).value, 3);
});

Deno.test("a param change reruns that stage and its downstream only; a data-dep change reruns", async () => {
  await using p = await makeProject();
  await p.run();
  await p.takeRuns();
  await p.writePipeline(FAKE_PIPELINE.replace("train: { value: 3 }", "train: { value: 4 }"));
  const r = await p.run();
  assert.deepEqual(await p.takeRuns(), ["train", "report"]);
  assert.deepEqual(r.skipped, ["fetch"]);
  assert.ok(r.lines.includes("train: running (changed: params)"), r.lines.join("\n"));
  assert.ok(r.lines.includes("report: running (changed: stage train)"), r.lines.join("\n"));
  // train reruns when a file of its dep folder src/ changes (deps name data; code is found from
  // the imports, see pipeline_code_deps_test.ts); its out is byte-identical, so report (keyed on
  // out hashes) does not.
  await Deno.writeTextFile(`${p.dir}/src/lib.ts`, "export const x = 2;\n");
  const code = await p.run();
  assert.deepEqual(await p.takeRuns(), ["train"]);
  assert.ok(code.lines.includes("train: running (changed: dep src)"), code.lines.join("\n"));
  await p.run({ force: true, only: "fetch" });
  assert.deepEqual(await p.takeRuns(), ["fetch"]);
  await p.run();
  assert.deepEqual(await p.takeRuns(), []);
});

Deno.test("--force reruns everything; --only runs a stage and only what upstream needs", async () => {
  await using p = await makeProject();
  await p.run({ only: "train" });
  assert.deepEqual(await p.takeRuns(), ["fetch", "train"]);
  const r = await p.run({ only: "train" });
  assert.deepEqual(await p.takeRuns(), []);
  assert.deepEqual(r.statuses, { fetch: "cached", train: "cached", report: "missing" });
  await p.run({ only: "train", force: true });
  assert.deepEqual(await p.takeRuns(), ["train"]);
  await p.run({ force: true });
  assert.deepEqual(await p.takeRuns(), ["fetch", "train", "report"]);
  await p.run({ profile: "paper", only: "fetch" });
  assert.deepEqual(await p.takeRuns(), ["fetch"]);
  assert.ok((await Deno.stat(`${p.dir}/artifacts/paper/fetch/out.txt`)).isFile);
});

Deno.test("an edited out folder reruns its stage; a touched but equal file does not", async () => {
  await using p = await makeProject();
  await p.run();
  await p.takeRuns();
  const file = `${p.dir}/artifacts/quick/fetch/out.txt`;
  await Deno.utime(file, new Date(), new Date(Date.now() + 5000));
  const touched = await p.run();
  assert.deepEqual(await p.takeRuns(), []);
  assert.equal(touched.exit_code, 0);
  await Deno.writeTextFile(`${p.dir}/artifacts/quick/fetch/extra.txt`, "x");
  await p.run();
  assert.deepEqual(await p.takeRuns(), ["fetch"]);
  await Deno.remove(`${p.dir}/report/quick`, { recursive: true });
  await p.run();
  assert.deepEqual(await p.takeRuns(), ["report"]);
});

Deno.test("a stage that throws keeps the previous out folder and lock entry, stops downstream, exit 1", async () => {
  await using p = await makeProject();
  await p.run();
  await p.takeRuns();
  const lockPath = `${p.dir}/artifacts/quick/pipeline.lock.json`;
  const lockBefore = await Deno.readTextFile(lockPath);
  const outBefore = await Deno.readTextFile(`${p.dir}/artifacts/quick/train/out.txt`);
  await p.writePipeline(FAKE_PIPELINE.replace("train: { value: 3 }", "train: { value: 5, fail: true }"));
  const r = await p.run();
  assert.equal(r.exit_code, 1);
  assert.deepEqual(await p.takeRuns(), ["train"]);
  assert.ok(
    r.lines.some((l) => l.startsWith("train: FAILED after") && l.includes("boom in train")),
    r.lines.join("\n"),
  );
  assert.ok(r.lines.includes('report: not run (stage "train" failed)'));
  assert.equal(await Deno.readTextFile(`${p.dir}/artifacts/quick/train/out.txt`), outBefore);
  assert.equal(await Deno.readTextFile(lockPath), lockBefore);
  const results = await readJson<ResultsFile>(`${p.dir}/artifacts/quick/results.json`);
  assert.equal(results.stages.train.status, "failed");
  assert.equal(results.stages.report.status, "missing");
  // The next good run cleans nothing of value and redoes only what changed.
  await p.writePipeline(FAKE_PIPELINE);
  await p.run();
  assert.deepEqual(await p.takeRuns(), []);
});

Deno.test("not-implemented stages are reported, never run, and downstream still runs", async () => {
  const yaml = FAKE_PIPELINE.replace(
    "  report:\n    module: stages/report.ts\n    deps: [fetch, train]",
    "  compress:\n    module: stages/compress.ts\n    deps: [train]\n    out: artifacts/{profile}/compress\n" +
      "  report:\n    module: stages/report.ts\n    deps: [fetch, train, compress]",
  );
  await using p = await makeProject(yaml, { compress: fakeStageSource({ implemented: false }) });
  const r = await p.run();
  assert.equal(r.exit_code, 0);
  assert.deepEqual(await p.takeRuns(), ["fetch", "train", "report"]);
  assert.equal(r.statuses.compress, "not_implemented");
  assert.ok(r.lines.some((l) => l.startsWith("compress: not implemented yet")), r.lines.join("\n"));
  await assert.rejects(() => Deno.stat(`${p.dir}/artifacts/quick/compress`), Deno.errors.NotFound);
  const reportOut = JSON.parse(await Deno.readTextFile(`${p.dir}/report/quick/out.txt`));
  assert.deepEqual(reportOut.deps, ["fetch", "train"]);
  const results = await readJson<ResultsFile>(`${p.dir}/artifacts/quick/results.json`);
  assert.equal(results.stages.compress.status, "not_implemented");
  const again = await p.run();
  assert.deepEqual(again.skipped, ["fetch", "train", "report"]);
  assert.equal(again.statuses.compress, "not_implemented");
});

Deno.test("results.json merges the stages' parts; results.csv has the union of columns", async () => {
  const yaml = FAKE_PIPELINE
    .replace(
      "params: { value: 1 }",
      'params: { value: 1, part: { rows: [{ variant: "data", technique: "none", size_bytes: 10 }], dataset: { n: 4 } } }',
    )
    .replace(
      "train: { value: 3 }",
      'train: { value: 3, part: { rows: [{ variant: "teacher", technique: "baseline", accuracy: 0.9, runtime: "tfjs" }], ' +
        'models: { teacher: { technique: "baseline" } } } }',
    );
  await using p = await makeProject(yaml);
  await p.run();
  const results = await readJson<ResultsFile>(`${p.dir}/artifacts/quick/results.json`);
  assert.equal(results.profile, "quick");
  assert.equal(results.seed, 7);
  assert.equal(results.pipeline_file, "pipeline.yaml");
  assert.match(results.pipeline_sha256, /^[0-9a-f]{64}$/);
  const track = results.tracks.classification;
  assert.deepEqual(Object.keys(results.tracks), ["classification"]);
  assert.deepEqual(track.rows.map((r) => r.variant), ["data", "teacher"]);
  assert.deepEqual(Object.keys(track.models), ["teacher"]);
  assert.deepEqual(track.extra, { fetch: { dataset: { n: 4 } } });
  assert.deepEqual(results.stages.train, {
    status: "done",
    summary: { value: 3 },
    seconds: results.stages.train.seconds,
  });
  const csv = parse(await Deno.readTextFile(`${p.dir}/artifacts/quick/results.csv`)) as string[][];
  assert.deepEqual(csv[0], ["task", "variant", "technique", "size_bytes", "accuracy", "runtime"]);
  assert.deepEqual(csv[2], ["classification", "teacher", "baseline", "", "0.9", "tfjs"]);
  // Cached stages keep their summary in results.json.
  await p.run();
  const cached = await readJson<ResultsFile>(`${p.dir}/artifacts/quick/results.json`);
  assert.deepEqual(cached.stages.train.summary, { value: 3 });
  assert.equal(cached.stages.train.status, "cached");
  assert.equal(cached.tracks.classification.rows.length, 2);
});

Deno.test("a second run of the same profile at once is refused; a stale pid file is taken over", async () => {
  await using p = await makeProject();
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await Deno.mkdir(`${p.dir}/artifacts/quick`, { recursive: true });
    await Deno.writeTextFile(`${p.dir}/artifacts/quick/pipeline.pid`, `${sleeper.pid}\n`);
    await assert.rejects(() => p.run(), /Another pipeline run \(pid \d+\) is using/);
    assert.deepEqual(await p.takeRuns(), []);
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
  const r = await p.run();
  assert.equal(r.exit_code, 0);
  await assert.rejects(() => Deno.stat(`${p.dir}/artifacts/quick/pipeline.pid`), Deno.errors.NotFound);
});

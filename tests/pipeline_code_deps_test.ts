/** A stage's code key comes from its module's import graph, not from hand-written deps. */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { makeProject } from "./_pipeline_helpers.ts";

const HELPERS_URL = new URL("./_pipeline_helpers.ts", import.meta.url).href;

/** fetch → train; no path deps at all: train's code is whatever stages/train.ts imports. */
const PIPELINE = `version: 1
seed: 7
stages:
  fetch:
    module: stages/fetch.ts
    out: artifacts/{profile}/fetch
  train:
    module: stages/train.ts
    deps: [fetch]
    out: artifacts/{profile}/train
`;

/**
 * train imports lib/a.ts (which imports lib/b.ts and names lib/kernel.c and lib/worker.ts by
 * `new URL(…, import.meta.url)`; the worker imports lib/c.ts) and imports lib/types.ts for types only.
 */
const TRAIN = `import { z } from "${HELPERS_URL}";
import { a } from "../lib/a.ts";
import type { Shape } from "../lib/types.ts";
export const paramsSchema = z.strictObject({});
export async function run(ctx) {
  await Deno.writeTextFile(ctx.root + "/runs.log", ctx.name + "\\n", { append: true });
  const shape: Shape = { n: a() };
  await Deno.writeTextFile(ctx.outDir + "/out.txt", JSON.stringify(shape));
  return { summary: {} };
}
`;

const LIB: Record<string, string> = {
  "a.ts": `import { b } from "./b.ts";
export const KERNEL = new URL("./kernel.c", import.meta.url);
export const WORKER = new URL('./worker.ts', import.meta.url);
export const ROOT = new URL("..", import.meta.url); // a folder: data, not code
// const OLD = new URL("./old.ts", import.meta.url); commented out: not code
/** e.g. \`new URL("./example.ts", import.meta.url)\` in a doc comment: not code either */
export const a = () => b + 1;
`,
  "b.ts": "export const b = 1;\n",
  "c.ts": "export const c = 3;\n",
  "worker.ts": 'import { c } from "./c.ts";\nself.postMessage(c);\n',
  "kernel.c": "int k(void) { return 1; }\n",
  "types.ts": "export interface Shape { n: number }\n",
  "unrelated.ts": "export const u = 0;\n",
};

async function codeProject() {
  const p = await makeProject(PIPELINE, { train: TRAIN });
  await Deno.mkdir(`${p.dir}/lib`);
  for (const [name, text] of Object.entries(LIB)) await Deno.writeTextFile(`${p.dir}/lib/${name}`, text);
  return p;
}

Deno.test("changing a file imported two levels down reruns the stage and names the file", async () => {
  await using p = await codeProject();
  await p.run();
  assert.deepEqual(await p.takeRuns(), ["fetch", "train"]);

  await Deno.writeTextFile(`${p.dir}/lib/b.ts`, "export const b = 2;\n");
  const r = await p.run();
  assert.deepEqual(await p.takeRuns(), ["train"]);
  assert.ok(r.lines.includes("train: running (changed: code lib/b.ts)"), r.lines.join("\n"));
  assert.ok(r.lines.some((l) => l.startsWith("fetch: unchanged, skipped")), r.lines.join("\n"));

  // A file no stage imports, and one imported for its types only, change nothing.
  await Deno.writeTextFile(`${p.dir}/lib/unrelated.ts`, "export const u = 1;\n");
  await Deno.writeTextFile(`${p.dir}/lib/types.ts`, "export interface Shape { n: number; m?: number }\n");
  const none = await p.run();
  assert.deepEqual(await p.takeRuns(), []);
  assert.deepEqual(none.skipped, ["fetch", "train"]);
});

Deno.test("files named by new URL(…, import.meta.url) are code: a .c source, a worker and its imports", async () => {
  await using p = await codeProject();
  await p.run();
  await p.takeRuns();
  for (
    const [file, text] of [
      ["kernel.c", "int k(void) { return 2; }\n"],
      ["worker.ts", 'import { c } from "./c.ts";\nself.postMessage(c + 1);\n'],
      ["c.ts", "export const c = 4;\n"],
    ]
  ) {
    await Deno.writeTextFile(`${p.dir}/lib/${file}`, text);
    const r = await p.run();
    assert.deepEqual(await p.takeRuns(), ["train"], file);
    assert.ok(r.lines.includes(`train: running (changed: code lib/${file})`), r.lines.join("\n"));
  }
  // What the key was made of: exactly the files train runs, npm versions, no folder.
  const lock = JSON.parse(await Deno.readTextFile(`${p.dir}/artifacts/default/pipeline.lock.json`));
  const inputs = Object.keys(lock.stages.train.inputs);
  const local = inputs.filter((k) => k.startsWith("code ") && !k.startsWith("code /")).sort();
  assert.deepEqual(local, [
    "code lib/a.ts",
    "code lib/b.ts",
    "code lib/c.ts",
    "code lib/kernel.c",
    "code lib/worker.ts",
    "code stages/train.ts",
  ]);
  // zod reached through the helpers file resolves under the repository's deno.json.
  assert.match(lock.stages.train.inputs["npm zod"], /^\d+\.\d+\.\d+/);
  assert.ok(inputs.includes("stage fetch"));
});

Deno.test("a removed import is named; a no-op rerun stays fast", async () => {
  await using p = await codeProject();
  await p.run();
  await p.takeRuns();
  await Deno.writeTextFile(`${p.dir}/lib/a.ts`, "export const a = () => 2;\n");
  const r = await p.run();
  assert.deepEqual(await p.takeRuns(), ["train"]);
  const line = r.lines.find((l) => l.startsWith("train: running"));
  assert.equal(
    line,
    "train: running (changed: code lib/a.ts, code lib/b.ts, code lib/c.ts, code lib/kernel.c, code lib/worker.ts)",
  );
  const t0 = performance.now();
  const again = await p.run();
  assert.deepEqual(again.skipped, ["fetch", "train"]);
  assert.ok(performance.now() - t0 < 5000, `no-op rerun took ${performance.now() - t0} ms`);
});

Deno.test("a lock from before code keys were derived says so once", async () => {
  await using p = await codeProject();
  await p.run();
  await p.takeRuns();
  const lockPath = `${p.dir}/artifacts/default/pipeline.lock.json`;
  const lock = JSON.parse(await Deno.readTextFile(lockPath));
  lock.stages.train.key = "old";
  lock.stages.train.inputs = { params: "x", "module stages/train.ts": "y", "pipeline/core/": "z" };
  await Deno.writeTextFile(lockPath, JSON.stringify(lock));
  const r = await p.run();
  assert.deepEqual(await p.takeRuns(), ["train"]);
  assert.ok(
    r.lines.includes("train: running (changed: code key (now from the imports))"),
    r.lines.join("\n"),
  );
  await p.run();
  assert.deepEqual(await p.takeRuns(), []);
});

Deno.test("pipeline.yaml lists data and upstream stages in deps, never code", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const spec = parse(await Deno.readTextFile(`${root}/pipeline.yaml`)) as {
    stages: Record<string, { deps?: string[] }>;
  };
  for (const [name, stage] of Object.entries(spec.stages)) {
    for (const dep of stage.deps ?? []) {
      assert.ok(dep in spec.stages || !dep.startsWith("pipeline/"), `stages.${name}.deps: "${dep}" is code`);
    }
  }
});

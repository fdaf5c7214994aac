/**
 * SIGKILL in the middle of a compress epoch, then rerun: the variants finished before the kill are
 * kept, the one in training resumes after its last finished epoch, and every weight and every
 * history equals an uninterrupted run's, bit for bit; also with two variants training at once (lanes).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand } from "./_pipeline_helpers.ts";

const STAGES = new URL("../pipeline/stages/", import.meta.url).pathname;

/** A tiny real pipeline (16×16 synthetic faces) in a temp folder; `compressExtra`: more compress params. */
async function project(compressExtra = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "edgeslim-resume-" });
  await Deno.writeTextFile(
    join(dir, "pipeline.yaml"),
    `version: 1
seed: 7
default_profile: quick
stages:
  fetch:
    module: ${STAGES}fetch.ts
    out: artifacts/{profile}/fetch
    params: { source: synthetic, size: 16, count_per_class: 60 }
  train:
    module: ${STAGES}train.ts
    deps: [fetch]
    out: artifacts/{profile}/train
    params: { models: [teacher], epochs: 2, batch: 16 }
  compress:
    module: ${STAGES}compress.ts
    deps: [fetch, train]
    out: artifacts/{profile}/compress
    params:
      students: [small]
      distill_epochs: 6
      batch: 16
      prune_ratios: [0.5]
      sparsities: [0.5]
      finetune_epochs: 3
      bn_recalibration_images: 32
${compressExtra}profiles:
  quick: {}
`,
  );
  return dir;
}

async function run(dir: string): Promise<string> {
  const out = await cliCommand(["--file", join(dir, "pipeline.yaml")]).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return text;
}

/** Every weights.bin under the compress out folder, and each model's history without timings. */
async function outcome(dir: string) {
  const compress = join(dir, "artifacts/quick/compress");
  const weights: Record<string, string> = {};
  for await (const e of Deno.readDir(compress)) {
    if (!e.isDirectory) continue;
    const bytes = await Deno.readFile(join(compress, e.name, "model/weights.bin"));
    weights[e.name] = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  const part = JSON.parse(await Deno.readTextFile(join(compress, "results.part.json")));
  const histories = Object.fromEntries(
    Object.entries(part.models as Record<string, { history: { seconds?: number }[] }>).map((
      [k, m],
    ) => [k, m.history.map(({ seconds: _s, ...h }) => h)]),
  );
  return { weights, histories };
}

async function waitFor(
  glob: (names: string[]) => string | undefined,
  root: string,
  ms: number,
): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(root)) names.push(e.name);
    } catch { /* not yet */ }
    const hit = glob(names);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting in ${root}`);
}

/**
 * Run the pipeline of `dir`, SIGKILL it once `ready` (given compress's resume folder) resolves, check
 * that no compress out folder is left, and return the rerun's log.
 */
async function killThenRerun(dir: string, ready: (resume: string) => Promise<void>): Promise<string> {
  const child = cliCommand(["--file", join(dir, "pipeline.yaml")]).spawn();
  const quick = join(dir, "artifacts/quick");
  try {
    const resume = await waitFor((n) => n.find((x) => x.startsWith("compress.resume-")), quick, 120_000);
    await ready(join(quick, resume));
  } finally {
    child.kill("SIGKILL");
  }
  assert.equal((await child.status).signal, "SIGKILL");
  const entries = [...Deno.readDirSync(quick)].map((e) => e.name);
  assert.ok(!entries.includes("compress"), "no compress out folder after the kill");
  const log = await run(dir);
  assert.match(log, /compress: resuming: keeping what artifacts\/quick\/compress\.resume-[0-9a-f]{12} holds/);
  const after = [...Deno.readDirSync(quick)].map((e) => e.name);
  assert.ok(!after.some((n) => n.includes(".resume-")), `resume folder removed: ${after}`);
  console.log(log.split("\n").filter((l) => /resum|kept from/.test(l)).join("\n"));
  return log;
}

/** Two copies of the tiny project: `fn` gets the uninterrupted one's outcome and the one to kill. */
async function withProjects(compressExtra: string, fn: (want: unknown, killed: string) => Promise<void>) {
  const whole = await project(compressExtra), killed = await project(compressExtra);
  try {
    await run(whole);
    await fn(await outcome(whole), killed);
  } finally {
    await Deno.remove(whole, { recursive: true });
    await Deno.remove(killed, { recursive: true });
  }
}

Deno.test("compress killed mid-epoch resumes: finished variants kept, training resumed, bit-identical", async () => {
  await withProjects("", async (want, killed) => {
    const log = await killThenRerun(killed, async (resume) => {
      // small_alone finished, small_kd past its first epoch (its checkpoint exists): kill mid-epoch.
      await waitFor((n) => n.includes("small_alone") ? "ok" : undefined, join(resume, "variants"), 120_000);
      await waitFor(
        (n) => n.includes("checkpoint.bin") ? "ok" : undefined,
        join(resume, "fit/small_kd"),
        120_000,
      );
    });
    assert.match(log, /small_alone: kept from the interrupted run/);
    assert.match(log, /small_kd: resumed after epoch \d+ from /);
    assert.deepEqual(await outcome(killed), want);
  });
});

Deno.test("compress in two lanes, killed while two variants train, resumes both: bit-identical", async () => {
  await withProjects("      workers: 1\n      lanes: 2\n", async (want, killed) => {
    let training: string[] = [];
    const log = await killThenRerun(killed, async (resume) => {
      // Kill once two variants each have an epoch checkpoint (a finished variant's is removed).
      const fit = join(resume, "fit");
      const checkpointed = (n: string) => {
        try {
          return Deno.statSync(join(fit, n, "checkpoint.bin")).isFile;
        } catch {
          return false;
        }
      };
      await waitFor(
        (names) => {
          training = names.filter(checkpointed);
          return training.length >= 2 ? "ok" : undefined;
        },
        fit,
        120_000,
      );
    });
    // Each was resumed from its checkpoint, or (had it finished just before the kill) kept.
    for (const name of training) {
      assert.match(log, new RegExp(`${name}: (resumed after epoch \\d+|kept from the interrupted run)`));
    }
    assert.match(log, /resumed after epoch \d+ from /);
    assert.deepEqual(await outcome(killed), want);
  });
});

/** kill -9 in the middle of a stage: no half-written out folder, the rerun redoes only that stage. */
import assert from "node:assert/strict";
import { cliCommand, makeProject } from "./_pipeline_helpers.ts";

async function waitFor(path: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`timed out waiting for ${path}`);
}

Deno.test("kill -9 mid-stage leaves no half artifact; the rerun completes and redoes only the killed stage", async () => {
  await using p = await makeProject();
  await Deno.writeTextFile(`${p.dir}/sleep-train`, "");
  const child = cliCommand(["--file", p.file]).spawn();
  try {
    await waitFor(`${p.dir}/started-train`, 60_000);
  } finally {
    child.kill("SIGKILL");
  }
  const status = await child.status;
  assert.equal(status.success, false);
  assert.equal(status.signal, "SIGKILL");
  assert.deepEqual(await p.takeRuns(), ["fetch", "train"]);

  // The killed stage's output exists only as garbage in the temp sibling folder.
  const quick = `${p.dir}/artifacts/quick`;
  const entries = [...Deno.readDirSync(quick)].map((e) => e.name).sort();
  assert.ok(!entries.includes("train"), entries.join(", "));
  assert.ok(entries.some((n) => /^train\.tmp-\d+$/.test(n)), entries.join(", "));
  const lock = JSON.parse(await Deno.readTextFile(`${quick}/pipeline.lock.json`));
  assert.deepEqual(Object.keys(lock.stages), ["fetch"]);

  await Deno.remove(`${p.dir}/sleep-train`);
  const out = await cliCommand(["--file", p.file]).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
  assert.deepEqual(await p.takeRuns(), ["train", "report"]);
  assert.match(stdout, /fetch: unchanged, skipped/);
  assert.match(stdout, /cleaned up train\.tmp-\d+ left by an interrupted run/);
  const after = [...Deno.readDirSync(quick)].map((e) => e.name);
  assert.ok(!after.some((n) => n.includes(".tmp-")), after.join(", "));
  await assert.rejects(() => Deno.stat(`${quick}/train/partial.txt`), Deno.errors.NotFound);
});

/**
 * The JSDoc `@example` blocks under pipeline/ run as doc tests in the test task (`deno test --doc`),
 * so each must check its claim with an assertion that throws: console.assert only prints.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory && !e.name.startsWith(".")) yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

Deno.test("the test task runs the doc examples of pipeline/", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.match(config.tasks.test, /--doc\b.*\bpipeline\//);
});

Deno.test("no doc example under pipeline/ asserts with console.assert", async () => {
  const offenders: string[] = [];
  let blocks = 0;
  for await (const file of tsFiles(join(ROOT, "pipeline"))) {
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
      blocks++;
      if (m[1].includes("console.assert(")) offenders.push(relative(ROOT, file));
    }
  }
  console.log(`${blocks} doc examples checked`);
  assert.deepEqual([...new Set(offenders)], []);
});

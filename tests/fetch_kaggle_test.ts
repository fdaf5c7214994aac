import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { join } from "node:path";
import sharp from "sharp";
import { zipSync } from "fflate";
import type { StageContext } from "../pipeline/core/types.ts";
import { type FetchParams, paramsSchema, run } from "../pipeline/stages/fetch.ts";
import { downloadKaggle, kaggleRequest, loadKaggleCredentials } from "../pipeline/data/sources/kaggle.ts";
import { generateFace } from "../pipeline/data/synthetic.ts";

const USER = "alice_kgl";
const KEY = "0123456789abcdef0123456789abcdef";
const TOKEN = btoa(`${USER}:${KEY}`);
const leaks = (text: string) => [USER, KEY, TOKEN].filter((s) => text.includes(s));
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

/** Collects every request the stage makes instead of touching the network. */
function stubFetch(reply: () => Response | Promise<Response>) {
  const calls: { url: string; headers: Headers }[] = [];
  const fn = (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), headers: new Headers(init?.headers) });
    return Promise.resolve(reply());
  };
  return { fn, calls };
}

const withTemp = async (fn: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test("credentials from env, else kaggle.json; errors never quote them", async () => {
  await withTemp(async (home) => {
    assertEquals(
      await loadKaggleCredentials({ env: envOf({ KAGGLE_USERNAME: USER, KAGGLE_KEY: KEY }), home }),
      {
        username: USER,
        key: KEY,
      },
    );
    const missing = await loadKaggleCredentials({ env: envOf({}), home }).catch((e) => e as Error);
    assert(missing instanceof Error && missing.message.includes("No Kaggle credentials"));
    await Deno.mkdir(join(home, ".kaggle"));
    await Deno.writeTextFile(
      join(home, ".kaggle", "kaggle.json"),
      JSON.stringify({ username: USER, key: KEY }),
    );
    assertEquals(await loadKaggleCredentials({ env: envOf({}), home }), { username: USER, key: KEY });
    // A malformed file: the error names the file but not its contents.
    await Deno.writeTextFile(join(home, ".kaggle", "kaggle.json"), `{"username": "${USER}", "key": ${KEY}`);
    const bad = (await loadKaggleCredentials({ env: envOf({}), home }).catch((e) => e)) as Error;
    assert(bad.message.includes("kaggle.json") && leaks(bad.message).length === 0, bad.message);
  });
});

Deno.test("request: API URL and basic auth header", () => {
  const req = kaggleRequest("vijaykumar1799/face-mask-detection", { username: USER, key: KEY });
  assertEquals(req.url, "https://www.kaggle.com/api/v1/datasets/download/vijaykumar1799/face-mask-detection");
  assertEquals(req.headers, { Authorization: `Basic ${TOKEN}` });
});

Deno.test("HTTP errors and fetch failures are redacted", async () => {
  await withTemp(async (cacheDir) => {
    const env = envOf({ KAGGLE_USERNAME: USER, KAGGLE_KEY: KEY });
    const denied = stubFetch(() => new Response("no", { status: 401, statusText: "Unauthorized" }));
    const e1 = (await downloadKaggle("o/n", { cacheDir, env, fetch: denied.fn }).catch((e) => e)) as Error;
    assert(e1.message.includes("HTTP 401") && e1.message.includes("kaggle:o/n"), e1.message);
    assertEquals(leaks(e1.message), []);
    assertEquals(denied.calls[0].headers.get("authorization"), `Basic ${TOKEN}`);
    // A network error whose text echoes the credentials comes out redacted.
    const echo = () => Promise.reject(new Error(`connect failed for ${USER}:${KEY} (Basic ${TOKEN})`));
    const e2 = (await downloadKaggle("o/n", { cacheDir, env, fetch: echo }).catch((e) => e)) as Error;
    assert(e2.message.includes("connect failed"), e2.message);
    assertEquals(leaks(e2.message), []);
    await rejects(
      downloadKaggle("not a dataset", { cacheDir, env, fetch: denied.fn }),
      /"not a dataset" is not "owner\/name"/,
    );
  });
});

Deno.test("kaggle source through the stage: zip downloaded, extracted, decoded; no credential in logs or outputs", async () => {
  await withTemp(async (base) => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 6; i++) { // 6 per class: every split gets an image at 0.7/0.15/0.15
      for (const [c, mask] of [["with_mask", true], ["without_mask", false]] as const) {
        const raw = generateFace(i, mask, 32);
        files[`Dataset/${c}/${i}.png`] = await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
          .png().toBuffer();
      }
    }
    const stub = stubFetch(() => new Response(zipSync(files)));
    const lines: string[] = [];
    const outDir = await Deno.makeTempDir({ dir: base });
    const ctx: StageContext<FetchParams> = {
      name: "fetch",
      profile: "test",
      params: paramsSchema.parse({ source: "kaggle", size: 16 }),
      seed: 1,
      root: base,
      outDir,
      depDirs: {},
      artifactsDir: join(base, "artifacts"),
      cacheDir: join(base, "cache"),
      log: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
      progress: () => ({ tick() {}, done() {} }),
    };
    const { summary } = await run(ctx, {
      fetch: stub.fn,
      env: envOf({ KAGGLE_USERNAME: USER, KAGGLE_KEY: KEY }),
    });
    assertEquals(summary.images, 12);
    assertEquals(stub.calls.map((c) => c.url), [
      "https://www.kaggle.com/api/v1/datasets/download/vijaykumar1799/face-mask-detection",
    ]);
    let written = JSON.stringify(summary) + lines.join("\n");
    for (const f of ["dataset.json", "manifest.csv", "results.part.json"]) {
      written += await Deno.readTextFile(join(outDir, f));
    }
    assertEquals(leaks(written), []);
    // Rerun: the cached zip is reused, no second request.
    const again = await run({ ...ctx, outDir: await Deno.makeTempDir({ dir: base }) }, {
      fetch: stub.fn,
      env: envOf({}),
    });
    assertEquals([again.summary.from_cache, stub.calls.length], [12, 1]);
  });
});

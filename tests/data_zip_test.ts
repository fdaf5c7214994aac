import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { resolveZip, safeEntryPath } from "../pipeline/data/sources/zip.ts";
import { sha256Hex } from "../pipeline/data/_hash.ts";
import { withTemp } from "./_stage_context.ts";

Deno.test("safeEntryPath refuses entries that escape the target, naming them", () => {
  for (
    const name of ["../evil", "a/../../evil", "/etc/passwd", "..\\evil", "a\\..\\..\\evil", "C:/x", "\\abs"]
  ) {
    let message = "";
    try {
      safeEntryPath("/tmp/dest", name);
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes(`"${name}"`), `expected a zip-slip error naming ${name}, got "${message}"`);
  }
  assertEquals(safeEntryPath("/tmp/dest", "a/./b.png"), "/tmp/dest/a/b.png");
});

Deno.test("a zip with a ../evil entry is rejected and nothing is written", async () => {
  await withTemp(async (dir) => {
    const zip = join(dir, "bad.zip");
    await Deno.writeFile(zip, zipSync({ "with_mask/a.png": strToU8("x"), "../evil": strToU8("pwned") }));
    const cacheDir = join(dir, "cache");
    await rejects(resolveZip({ path: zip, cacheDir }), /Refusing zip entry "\.\.\/evil"/);
    assert(!(await Deno.stat(join(dir, "evil")).then(() => true, () => false)));
    assertEquals([...Deno.readDirSync(join(cacheDir, "zip"))].length, 0);
  });
});

Deno.test("zip extraction into the cache, reused on the second call", async () => {
  await withTemp(async (dir) => {
    const zip = join(dir, "ok.zip");
    const bytes = zipSync({ "Dataset/with_mask/a.png": strToU8("x"), "Dataset/": new Uint8Array() });
    await Deno.writeFile(zip, bytes);
    const out = await resolveZip({ path: zip, cacheDir: dir, sha256: await sha256Hex(bytes) });
    assertEquals(await Deno.readTextFile(join(out.dir, "Dataset/with_mask/a.png")), "x");
    assertEquals(await resolveZip({ path: zip, cacheDir: dir }), out);
  });
});

Deno.test("checksum mismatch: local zip and downloaded zip", async () => {
  await withTemp(async (dir) => {
    const bytes = zipSync({ "a/b.png": strToU8("x") });
    const zip = join(dir, "a.zip");
    await Deno.writeFile(zip, bytes);
    const wrong = "0".repeat(64);
    await rejects(
      resolveZip({ path: zip, cacheDir: dir, sha256: wrong }),
      /Checksum mismatch for ".*a\.zip": expected sha256 0{64}, got/,
    );
    const stub = () => Promise.resolve(new Response(bytes));
    const url = "https://example.org/data.zip";
    await rejects(
      resolveZip({ url, cacheDir: dir, sha256: wrong, fetch: stub }),
      /Checksum mismatch for "https:\/\/example.org\/data.zip"/,
    );
    assert(!(await Deno.stat(join(dir, "downloads", `${wrong}.zip`)).then(() => true, () => false)));
    // With the right checksum the download lands in the cache (via a temp file) and is extracted.
    const good = await sha256Hex(bytes);
    const { dir: out } = await resolveZip({ url, cacheDir: dir, sha256: good, fetch: stub });
    assertEquals(await Deno.readTextFile(join(out, "a/b.png")), "x");
    assertEquals([...Deno.readDirSync(join(dir, "downloads"))].map((e) => e.name), [`${good}.zip`]);
  });
});

/**
 * Bench over SSH, end to end against a throw-away sshd on 127.0.0.1 (the "device" is this
 * machine, runtime Deno, onnxruntime-node installed for the "board" with the README's offline
 * command and found via the device's `node_modules` option), the device cache and `--force`,
 * plus its failure cases. Needs /usr/sbin/sshd (Debian openssh-server): skipped without it, except
 * when CI=true, where it fails (as it does without npm; elsewhere the board then uses this repo's
 * node_modules).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ResultsPart } from "../pipeline/core/types.ts";
import type { ResultRow } from "../pipeline/stages/parts.ts";
import { buildBundle } from "../pipeline/bench/bundle.ts";
import { benchDevice, type DeviceConfig, deviceSchema } from "../pipeline/bench/devices.ts";
import { armnnAvailable } from "../pipeline/export/tflite/mod.ts";
import { classifySshFailure, parseTarget, quotePath, shellQuote } from "../pipeline/bench/ssh.ts";
import { isExpected } from "../pipeline/core/errors.ts";
import { parseTrtexec } from "../pipeline/bench/trtexec.ts";
import * as benchStage from "../pipeline/stages/bench.ts";
import * as exportStage from "../pipeline/stages/export.ts";
import { loadDataset } from "../pipeline/data/dataset.ts";
import { exportTinyClassifiers } from "./_export_helpers.ts";
import { stageContext as context } from "./_stage_context.ts";
import { freePort, sh, startSshd } from "./_sshd.ts";

const HOSTILE = "a'; rm -rf ~; echo '";

/**
 * The README's board set-up step. onnxruntime-node's install script otherwise downloads the CUDA
 * build from api.nuget.org on linux/x64, which fails offline; the CPU build ships in the package.
 */
const BOARD_INSTALL = "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0";

Deno.test("README: the board set-up step is the offline install the SSH test runs", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  assert(readme.includes(`\`${BOARD_INSTALL}\``), `README.md should show \`${BOARD_INSTALL}\``);
});

Deno.test("ssh: shellQuote survives hostile names (checked by a real sh, HOME in a temp dir)", async () => {
  const home = await Deno.makeTempDir({ prefix: "edgeslim_quote_" });
  try {
    await Deno.writeTextFile(join(home, "canary"), "x");
    for (const s of [HOSTILE, "$(touch pwned)", "`id`", 'a"b\\c', "new\nline", "", "~/x y", "-rf"]) {
      const out = await new Deno.Command("sh", {
        args: ["-c", `printf %s ${shellQuote(s)}`],
        env: { HOME: home },
      }).output();
      assertEquals(new TextDecoder().decode(out.stdout), s);
    }
    assert(existsSync(join(home, "canary")) && !existsSync("pwned"));
    const out = await new Deno.Command("sh", {
      args: ["-c", `printf %s ${quotePath(`~/${HOSTILE}`)}`],
      env: { HOME: home },
    }).output();
    assertEquals(new TextDecoder().decode(out.stdout), `${home}/${HOSTILE}`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("ssh: targets parse; option-like or hostile targets are refused", () => {
  assertEquals(parseTarget("pi@raspberrypi.local:2222"), {
    user: "pi",
    host: "raspberrypi.local",
    port: 2222,
  });
  assertEquals(parseTarget("jetson"), { user: undefined, host: "jetson", port: undefined });
  assertEquals(parseTarget("[::1]:22").host, "::1");
  for (const bad of ["-oProxyCommand=x", "a b", HOSTILE, "u@h:99999", "h;id"]) {
    let threw = false;
    try {
      parseTarget(bad);
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});

Deno.test("ssh: failures are classified from exit code + stderr", () => {
  const cases: [number, string, string][] = [
    [255, "ssh: connect to host 10.0.0.9 port 22: Connection refused", "refused"],
    [255, "root@127.0.0.1: Permission denied (publickey).", "auth"],
    [255, "Host key verification failed.", "host_key"],
    [255, "ssh: Could not resolve hostname jetson.local: Name or service not known", "resolve"],
    [255, "ssh: connect to host 10.0.0.9 port 22: Connection timed out", "unreachable"],
    [127, "sh: 1: node: not found", "runtime_missing"],
    [127, "bash: line 1: node: command not found", "runtime_missing"],
    [255, "Connection to 10.0.0.9 closed by remote host.", "dropped"],
    [255, "client_loop: send disconnect: Broken pipe", "dropped"],
    [3, "edgeslim-runner: cannot load onnxruntime-node", "remote"],
  ];
  for (const [code, stderr, kind] of cases) assertEquals(classifySshFailure(code, stderr).kind, kind, stderr);
});

Deno.test("bench devices: strict schema, errors name the field", () => {
  const ok = deviceSchema.parse({ name: "pi", ssh: "pi@raspberrypi.local" });
  assertEquals([ok.runtime, ok.workdir, ok.formats, ok.threads], [
    "node",
    "~/edgeslim-bench",
    ["onnx-fp32", "onnx-int8"],
    [1],
  ]);
  const bad = [
    [{ name: "pi", ssh: "pi@h", runtime: "python" }, "runtime"],
    [{ name: "pi", ssh: "-oProxyCommand=x" }, "ssh"],
    [{ name: "pi", ssh: "h", formats: ["tfjs"] }, "formats"],
    [{ name: "pi", ssh: "h", colour: "red" }, ""],
  ] as const;
  for (const [value, field] of bad) {
    const r = benchStage.paramsSchema.safeParse({ devices: [value] });
    assert(!r.success);
    const paths = r.error.issues.map((i) =>
      [...i.path, ...(("keys" in i) ? i.keys as string[] : [])].join(".")
    );
    assert(paths.some((p) => p.startsWith("devices.0") && p.includes(field)), `${field}: ${paths}`);
  }
  assert(
    !benchStage.paramsSchema.safeParse({ devices: [{ name: "a", ssh: "h" }, { name: "a", ssh: "g" }] })
      .success,
  );
});

Deno.test("trtexec: performance summaries of TensorRT 8.2 (JetPack 4.6) and 8.6 parse", () => {
  const trt82 =
    `&&&& RUNNING TensorRT.trtexec [TensorRT v8201] # /usr/src/tensorrt/bin/trtexec --onnx=model.fp32.onnx --fp16
[01/12/2024-10:21:07] [I] === Performance summary ===
[01/12/2024-10:21:07] [I] Throughput: 352.138 qps
[01/12/2024-10:21:07] [I] Latency: min = 2.7937 ms, max = 3.56445 ms, mean = 2.82617 ms, median = 2.81799 ms, percentile(99%) = 3.0791 ms
[01/12/2024-10:21:07] [I] End-to-End Host Latency: min = 2.80 ms, max = 6.1 ms, mean = 5.5 ms, median = 5.5 ms, percentile(99%) = 5.9 ms
[01/12/2024-10:21:07] [I] GPU Compute Time: min = 2.6 ms, max = 3.4 ms, mean = 2.65 ms, median = 2.64 ms, percentile(99%) = 2.9 ms
&&&& PASSED TensorRT.trtexec [TensorRT v8201]`;
  const a = parseTrtexec(trt82);
  assertEquals([a.tensorrt, a.throughput_qps, a.latency_ms_mean, a.latency_ms_p50, a.latency_ms_p99], [
    "8.2.1",
    352.138,
    2.82617,
    2.81799,
    3.0791,
  ]);
  assertEquals([a.latency_ms_p90, a.gpu_compute_ms_mean], [undefined, 2.65]);
  const trt86 = `[I] TensorRT version: 8.6.2
[I] === Performance summary ===
[I] Throughput: 1203.4 qps
[I] Latency: min = 0.79 ms, max = 1.5 ms, mean = 0.83 ms, median = 0.82 ms, percentile(90%) = 0.86 ms, percentile(95%) = 0.9 ms, percentile(99%) = 1.1 ms
[I] Enqueue Time: min = 0.2 ms, max = 0.4 ms, mean = 0.25 ms, median = 0.25 ms
[I] GPU Compute Time: min = 0.6 ms, max = 1.2 ms, mean = 0.64 ms, median = 0.63 ms, percentile(90%) = 0.66 ms`;
  const b = parseTrtexec(trt86);
  assertEquals([b.tensorrt, b.latency_ms_p90, b.latency_ms_min, b.latency_ms_max], [
    "8.6.2",
    0.86,
    0.79,
    1.5,
  ]);
  let threw = "";
  try {
    parseTrtexec("[E] Error[4]: network has dynamic inputs\n&&&& FAILED TensorRT.trtexec");
  } catch (e) {
    threw = (e as Error).message;
  }
  assert(threw.includes("no performance summary") && threw.includes("FAILED"));
});

// ---- end to end through a real sshd ----

/**
 * The "pi" device's TFLite rows: with pyarmnn, fp32 and int8 run (fp32 accuracy equal to the
 * export stage's LiteRT.js score on the same images) and fp16 is listed as not run (Arm NN 20.08
 * takes weights from constant buffers only); without it, every file is listed with the cause.
 */
async function checkTfliteDevice(
  out: ResultsPart,
  lines: string[],
  exports: Record<string, exportStage.ExportRecord>,
) {
  const rows = (out.rows as ResultRow[]).filter((r) => r.device === "pi");
  const info =
    (out.devices as Record<string, { model_errors?: { format: string; error: string }[]; tflite?: string }>)
      .pi;
  for (const r of rows) {
    console.log(
      `  pi ${r.variant} ${r.format}: p50 ${r.latency_ms_p50!.toFixed(3)} ms, acc ${r.accuracy} ` +
        `(export: ${
          exports[r.variant].formats[r.format as "tflite-fp32"]!.accuracy
        }; ${r.runtime}, ${r.execution_provider})`,
    );
  }
  for (const e of info.model_errors ?? []) console.log(`  pi ${e.format}: not run: ${e.error}`);
  if (!(await armnnAvailable())) {
    if (CI) throw new Error("CI=true but python3-pyarmnn is missing: apt-get install -y python3-pyarmnn");
    assertEquals(rows.length, 0);
    assert(info.model_errors!.every((e) => /no TFLite runtime in this python3/.test(e.error)));
    return;
  }
  assertEquals(rows.map((r) => r.format).sort(), [
    "tflite-fp32",
    "tflite-fp32",
    "tflite-int8",
    "tflite-int8",
  ]);
  assert(rows.every((r) => /^Arm NN .* \(pyarmnn\) \(python 3\./.test(r.runtime!) && r.latency_ms_p50! > 0));
  assert(info.tflite?.startsWith("Arm NN"), String(info.tflite));
  for (const r of rows.filter((r) => r.format === "tflite-fp32")) {
    assertEquals(r.accuracy, exports[r.variant].formats["tflite-fp32"]!.accuracy);
  }
  assertEquals(info.model_errors!.map((e) => e.format), ["tflite-fp16", "tflite-fp16"]);
  assert(lines.some((l) => /^warn pi: \S+ tflite-fp16 ×1 not run: .*Buffer/.test(l)), lines.join("\n"));
}

const SSHD = "/usr/sbin/sshd";
const HAVE_SSHD = existsSync(SSHD);
const CI = Deno.env.get("CI") === "true";
if (!HAVE_SSHD && !CI) console.warn(`bench_ssh_test: ${SSHD} not found: skipping the SSH end-to-end test`);

/**
 * Set the "board" up as the README says: `BOARD_INSTALL` in `dir`, with npm's own registry only
 * (nothing else reachable is assumed); returns its node_modules, checked to load under Node.js.
 */
async function installBoard(dir: string): Promise<string> {
  if (!(await sh("sh", ["-c", "command -v npm || true"]))) {
    if (CI) throw new Error("CI=true but npm is missing: install Node.js with npm");
    console.warn("bench_ssh_test: npm not found: the board uses this repo's node_modules");
    return resolve("node_modules");
  }
  await Deno.mkdir(dir, { recursive: true });
  const npm = await new Deno.Command("sh", {
    args: ["-c", `${BOARD_INSTALL} --no-audit --no-fund`],
    cwd: dir,
    env: { ONNXRUNTIME_NODE_INSTALL_CUDA: "", npm_config_onnxruntime_node_install: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(npm.stdout) + new TextDecoder().decode(npm.stderr);
  assert(npm.success, `${BOARD_INSTALL} failed (exit ${npm.code}):\n${log}`);
  const nm = join(dir, "node_modules");
  const bin = join(
    nm,
    "onnxruntime-node",
    "bin",
    "napi-v6",
    "linux",
    Deno.build.arch === "x86_64" ? "x64" : "arm64",
  );
  assert(existsSync(join(bin, "onnxruntime_binding.node")), `no CPU binding in ${bin}`);
  assert(!existsSync(join(bin, "libonnxruntime_providers_cuda.so")), "the CUDA build was downloaded");
  const load = await new Deno.Command("node", {
    args: ["-e", 'console.log(require("onnxruntime-node").env.versions.node)'],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(load.stdout).trim(), "1.30.0", new TextDecoder().decode(load.stderr));
  console.log(`  board set-up: \`${BOARD_INSTALL}\` ok (${log.match(/added \d+ packages[^\n]*/)?.[0]})`);
  return nm;
}

/** fetch (synthetic 16×16) → two random-weight classifiers (3 outputs) → export ONNX and TFLite. */
function tinyExport(base: string) {
  return exportTinyClassifiers(base, {
    size: 16,
    countPerClass: 20,
    models: { teacher: [8, 16, 32], small: [4, 8, 16] },
    classes: 3,
    formats: ["onnx-fp32", "onnx-int8", "tflite-fp32", "tflite-fp16", "tflite-int8"],
  });
}

Deno.test({
  name: "bench over SSH: end to end through a real sshd on 127.0.0.1, cache, and every failure case",
  ignore: !HAVE_SSHD && !CI,
  async fn() {
    if (!HAVE_SSHD) throw new Error(`CI=true but ${SSHD} is missing: apt-get install openssh-server`);
    const base = await Deno.makeTempDir({ prefix: "edgeslim_ssh_" });
    const sshd = await startSshd(base);
    try {
      const dirs = await tinyExport(base);
      const boardModules = await installBoard(join(base, "board"));
      const good: DeviceConfig = deviceSchema.parse({
        name: HOSTILE, // device names never reach a remote command; this one would be noticed
        ssh: "dev",
        ssh_config: await sshd.client("good"),
        runtime: "deno",
        runtime_path: Deno.execPath(),
        workdir: join(base, "remote", "w'; touch PWNED; echo '"),
        node_modules: boardModules,
        formats: ["onnx-fp32", "onnx-int8"],
      });
      // The same runner under Node.js too, where node is installed (CI has it).
      const node = await sh("sh", ["-c", "command -v node || true"]);
      const viaNode = node ? [{ ...good, name: "node", runtime: "node" as const, runtime_path: node }] : [];
      // TFLite through the board's python3: Debian's, whose TFLite runtime is pyarmnn (auto finds it).
      const tflite = deviceSchema.parse({
        ...good,
        name: "pi",
        python: "/usr/bin/python3",
        formats: ["tflite-fp32", "tflite-fp16", "tflite-int8"],
      });
      const params = { warmup: 1, runs: 5, local: false, timeout_s: 120 };
      const bench = context(
        "bench",
        benchStage.paramsSchema.parse({ ...params, devices: [good, ...viaNode, tflite] }),
        base,
        dirs,
      );
      await benchStage.run(bench);
      const out = JSON.parse(await Deno.readTextFile(join(bench.outDir, "results.part.json"))) as ResultsPart;
      const rows = (out.rows as ResultRow[]).filter((r) => r.device !== "pi");
      const exp = JSON.parse(await Deno.readTextFile(join(dirs.export, "results.part.json"))) as ResultsPart;
      const exports = exp.exports as Record<string, exportStage.ExportRecord>;
      assertEquals(rows.length, 2 * 2 * (1 + viaNode.length));
      await checkTfliteDevice(out, bench.lines, exports);
      for (const r of rows.filter((r) => r.device === "node")) {
        console.log(`  node ${r.variant} ${r.format}: p50 ${r.latency_ms_p50!.toFixed(3)} ms (${r.runtime})`);
        assert(/^onnxruntime-node 1\.30\.0 \(node \d/.test(r.runtime!), String(r.runtime));
        assertEquals(r.accuracy, exports[r.variant].formats[r.format as "onnx-fp32"]!.accuracy);
      }
      for (const r of rows.filter((r) => r.device !== "node")) {
        console.log(
          `  ${r.device} ${r.variant} ${r.format} x${r.threads}: p50 ${r.latency_ms_p50!.toFixed(3)} ms, ` +
            `fps ${r.fps!.toFixed(0)}, acc ${r.accuracy} (${r.runtime})`,
        );
        assertEquals(r.device, HOSTILE);
        assert(/^onnxruntime-node 1\.30\.0 \(deno \d/.test(r.runtime!), String(r.runtime));
        assert(r.latency_ms_p50! <= r.latency_ms_p90! && r.latency_ms_std! >= 0 && r.fps! > 0);
        // Same test images, same ONNX file, same runtime: accuracy equals the export stage's.
        assertEquals(r.accuracy, exports[r.variant].formats[r.format as "onnx-fp32"]!.accuracy);
        assertEquals(r.measured_speedup !== undefined, true);
      }
      const info = (out.devices as Record<string, Record<string, unknown>>)[HOSTILE];
      assertEquals(info.status, "done");
      assert(
        (info.cpu as string).length > 0 && (info.ram_bytes as number) > 0 && (info.os as string).length > 0,
      );
      assert(existsSync(good.workdir), "the hostile workdir is created literally");
      assert(!existsSync(join(base, "remote", "PWNED")) && !existsSync("PWNED"));
      console.log(`  device info: ${JSON.stringify(info)}`);

      // Unchanged bundle: the results come from the device cache, and the log says how to re-measure;
      // with --force (ctx.force) every device is measured again and its cache entry replaced.
      const lines = async (force: boolean) => {
        const ctx = context("bench", bench.params, base, dirs);
        ctx.force = force;
        await benchStage.run(ctx);
        const part = JSON.parse(
          await Deno.readTextFile(join(ctx.outDir, "results.part.json")),
        ) as ResultsPart;
        const status = (part.devices as Record<string, { status: string }>)[HOSTILE].status;
        return { status, lines: ctx.lines.filter((l) => l.startsWith(HOSTILE)) };
      };
      const cached = await lines(false);
      assertEquals(cached.status, "cached");
      assert(
        /^cached \(measured \d{4}-\d\d-\d\d \d\d:\d\d UTC; --force re-measures\)$/.test(
          cached.lines.at(-1)!.slice(HOSTILE.length + 2),
        ),
        cached.lines.join("\n"),
      );
      const forced = await lines(true);
      assertEquals(forced.status, "done");
      assertEquals(forced.lines.map((l) => l.slice(HOSTILE.length + 2)), [
        "connected, copying bundle",
        "running deno",
        "re-measured (--force)",
      ]);
      console.log(`  without --force: ${cached.lines.at(-1)}\n  with --force: ${forced.lines.join(" / ")}`);

      // Failure cases, all at once; each must name the device and the cause.
      const data = await loadDataset(dirs.fetch);
      const bundle = await buildBundle(base, {
        exportDir: dirs.export,
        exports,
        formats: ["onnx-fp32"],
        threads: [1],
        warmup: 1,
        runs: 2,
        layout: "NHWC",
        data,
        images: 8,
        trtexec: false,
      });
      const slow = join(base, "slow_runtime.sh");
      await Deno.writeTextFile(slow, "#!/bin/sh\nexec sleep 30\n");
      await Deno.chmod(slow, 0o755);
      const variants: [string, Partial<DeviceConfig>, string, RegExp, number?][] = [
        ["refused", { ssh_config: await sshd.client("refused", { port: freePort() }) }, "refused", /refused/],
        [
          "hostkey",
          { ssh_config: await sshd.client("hostkey", { knownHosts: "empty_known_hosts" }) },
          "host_key",
          /Host key verification failed/i,
        ],
        [
          "wrongkey",
          { ssh_config: await sshd.client("wrongkey", { key: "other_key" }) },
          "auth",
          /Permission denied/,
        ],
        ["noruntime", { runtime_path: join(base, "no", "deno") }, "runtime_missing", /runtime not found/],
        ["timeout", { runtime_path: slow }, "timeout", /timed out/, 3],
      ];
      const outcomes = await Promise.all(
        variants.map(([name, patch, , , timeout]) =>
          benchDevice({ ...good, ...patch, name }, bundle, {
            cacheDir: join(base, "cache"),
            timeoutS: timeout ?? 30,
          })
        ),
      );
      for (const [i, o] of outcomes.entries()) {
        const [name, , kind, re] = variants[i];
        assert(o.status === "failed", name);
        console.log(`  ${name}: [${o.kind}] ${o.error}`);
        assertEquals(o.kind, kind);
        assert(o.error.startsWith(`device "${name}": `) && re.test(o.error), o.error);
      }

      // A failing device fails the stage; the good one is cached and the rerun only retries the other.
      const refused = { ...good, name: "refused", ssh_config: variants[0][1].ssh_config };
      const both = benchStage.paramsSchema.parse({ ...params, devices: [good, refused] });
      let message = "", expected = false;
      try {
        await benchStage.run(context("bench", both, base, dirs));
      } catch (e) {
        [message, expected] = [(e as Error).message, isExpected(e)];
      }
      assert(
        message.includes(`device "refused"`) && message.includes("refused") && !message.includes(HOSTILE),
      );
      assert(expected, "a failed device is an expected failure: the runner prints its message, no stack");
      const lenient = context("bench", { ...both, fail_on_device_error: false }, base, dirs);
      await benchStage.run(lenient);
      const part = JSON.parse(
        await Deno.readTextFile(join(lenient.outDir, "results.part.json")),
      ) as ResultsPart;
      const devices = part.devices as Record<string, { status: string; error?: string }>;
      assertEquals([devices[HOSTILE].status, devices.refused.status], ["cached", "failed"]);
      assertEquals((part.rows as ResultRow[]).length, 4);
      assert((part.rows as ResultRow[]).every((r) => r.device === HOSTILE));
    } finally {
      await sshd.stop();
      await Deno.remove(base, { recursive: true });
    }
  },
});

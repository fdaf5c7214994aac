/**
 * `deno task infer --device NAME` through a real sshd on 127.0.0.1 (the "board" is this machine,
 * runtime Deno): the runner, model and cascade are copied there, its per-frame JSON comes back
 * and equals a local run's; a board whose link freezes mid-run, an unknown device and a Node
 * device each fail with a message naming the device.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { infer } from "../pipeline/live/infer.ts";
import { DATA, exportedClassifier, testWith } from "./_live_support.ts";
import { sh, startSshd } from "./_sshd.ts";
import * as liveStage from "../pipeline/stages/live.ts";
import { stageContext as context } from "./_stage_context.ts";

const VIDEO = `${DATA}/Megamind.avi`;
const CI = Deno.env.get("CI") === "true";
const HAVE_SSHD = existsSync("/usr/sbin/sshd");
if (!HAVE_SSHD && !CI) console.warn("live_device_test: /usr/sbin/sshd not found: skipping");

/** A pipeline file whose bench stage lists the devices (only the devices matter here). */
async function pipelineWith(base: string, devices: Record<string, unknown>[]): Promise<string> {
  const file = join(base, "pipeline.yaml");
  const bench = new URL("../pipeline/stages/bench.ts", import.meta.url).pathname;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      version: 1,
      seed: 1,
      stages: { bench: { module: bench, out: join(base, "bench"), params: { devices } } },
      profiles: { quick: {} },
    }),
  );
  return file;
}

if (HAVE_SSHD || CI) {
  testWith("infer --device: the board runs the same loop, its JSON lines come back; failures name it", [
    "ffmpeg",
    "data",
  ], async () => {
    if (!HAVE_SSHD) throw new Error("CI=true but /usr/sbin/sshd is missing: apt-get install openssh-server");
    const base = await Deno.makeTempDir({ prefix: "edgeslim_infer_device_" });
    const sshd = await startSshd(base);
    try {
      const model = join(await exportedClassifier(base), "tiny", "model.fp32.onnx");
      const board = {
        name: "board",
        ssh: "dev",
        ssh_config: await sshd.client("good"),
        runtime: "deno",
        runtime_path: Deno.execPath(),
        workdir: join(base, "remote"),
        options: { ServerAliveInterval: 1, ServerAliveCountMax: 2 },
      };
      const file = await pipelineWith(base, [board, { ...board, name: "nano", runtime: "node" }]);
      const base_args = ["--source", VIDEO, "--model", model, "--json", "--detect-scale", "1"];
      const args = [...base_args, "--frames", "6"];
      const remote: string[] = [], local: string[] = [];
      await infer([...args, "--device", "board", "--pipeline", file], (l) => remote.push(l));
      await infer(args, (l) => local.push(l));
      console.log(`  from the board: ${remote[0]}\n  …\n  ${remote.at(-1)}`);
      assert.equal(remote.length, 7);
      const faces = (lines: string[]) => lines.slice(0, 6).map((l) => JSON.stringify(JSON.parse(l).faces));
      assert.deepEqual(faces(remote), faces(local));
      assert.equal(JSON.parse(remote[6]).summary.frames, 6);
      assert.deepEqual(
        [...Deno.readDirSync(join(base, "remote"))],
        [],
        "the board's copy is removed after the run",
      );

      // The live stage on the board: the same video sent along, the run recorded under its name.
      const exportDir = join(model, "..", "..");
      const params = liveStage.paramsSchema.parse({
        frames: 6,
        variants: ["tiny"],
        formats: ["onnx-fp32"],
        devices: [board],
        local: false,
      });
      const ctx = context("live", params, base, { export: exportDir });
      await liveStage.run(ctx);
      const part = JSON.parse(
        await Deno.readTextFile(join(ctx.outDir, "results.part.json")),
      ) as liveStage.LivePart;
      console.log(`  live stage: ${ctx.lines.join(" / ")}`);
      assert.deepEqual(part.runs.map((r) => [r.device, r.variant, r.format, r.frames]), [[
        "board",
        "tiny",
        "onnx-fp32",
        6,
      ]]);
      assert(part.runs[0].fps > 0 && part.runs[0].faces > 0);

      const failure = async (extra: string[], freeze = false) => {
        let message = "";
        const run = infer([...base_args, ...extra], () => {
          if (freeze && !frozen) {
            frozen = true;
            // Freeze the board's sshd sessions: the link goes silent and ssh gives up after ~3 s.
            sh("sh", ["-c", `pkill -STOP -P ${sshd.pid}`]).catch(() => {});
          }
        });
        let frozen = false;
        try {
          await run;
        } catch (e) {
          message = (e as Error).message;
        } finally {
          if (freeze) {
            await sh("sh", ["-c", `pkill -CONT -P ${sshd.pid}; pkill -KILL -P ${sshd.pid}`]).catch(() => {});
          }
        }
        console.log(`  ${extra.join(" ").replace(file, "<pipeline>")} → ${message}`);
        return message;
      };
      const frames = ["--frames", "270"];
      assert.match(
        await failure([...frames, "--device", "board", "--pipeline", file], true),
        /^device "board": connection failed or dropped \(ssh exit 255\).* \(after \d+ frame\(s\)\)$/,
      );
      assert.match(
        await failure([...frames, "--device", "pi", "--pipeline", file]),
        /--device pi: no such device .*known: board, nano/,
      );
      assert.match(
        await failure([...frames, "--device", "nano", "--pipeline", file]),
        /runs with Deno on the board \(set runtime: deno/,
      );
    } finally {
      await sshd.stop();
      await Deno.remove(base, { recursive: true });
    }
  });
}

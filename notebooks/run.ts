/**
 * `deno task notebooks`: strip the outputs of every notebooks/*.ipynb (committed notebooks carry
 * none), install the Deno Jupyter kernel, then execute each notebook headless with
 * `jupyter nbconvert --execute` into a temp folder. Exits non-zero when any cell fails, when an
 * executed code cell saved no output (every cell shows something, through `show()`; a cell
 * marked `// no output` is exempt), or when a notebook takes longer than BUDGET_S.
 * Needs Debian's jupyter-nbconvert and python3-ipykernel.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A notebook with every output and execution count removed; true when something changed. */
export function stripOutputs(nb: { cells: Record<string, unknown>[] }): boolean {
  let changed = false;
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    if ((cell.outputs as unknown[] | undefined)?.length || cell.execution_count !== null) changed = true;
    cell.outputs = [];
    cell.execution_count = null;
  }
  return changed;
}

/** Seconds one notebook may take on the quick settings (2 cores; about 2 min here, the AVX2 kind is ~2× slower). */
export const BUDGET_S = 300;

/** Code cells of an executed notebook that saved no output (and are not marked `// no output`), by number. */
export function silentCells(nb: { cells: Record<string, unknown>[] }): number[] {
  const code = nb.cells.filter((c) => c.cell_type === "code");
  return code.flatMap((c, i) => {
    const source = Array.isArray(c.source) ? c.source.join("") : String(c.source ?? "");
    const outputs = (c.outputs as unknown[] | undefined) ?? [];
    return outputs.length === 0 && !source.includes("// no output") ? [i + 1] : [];
  });
}

async function sh(cmd: string, args: string[], cwd: string): Promise<boolean> {
  const { success } = await new Deno.Command(cmd, { args, cwd, stdout: "inherit", stderr: "inherit" })
    .output();
  return success;
}

if (import.meta.main) {
  const dir = dirname(fileURLToPath(import.meta.url));
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".ipynb")).sort();
  for (const name of names) {
    const nb = JSON.parse(await Deno.readTextFile(join(dir, name)));
    if (stripOutputs(nb)) {
      await Deno.writeTextFile(join(dir, name), JSON.stringify(nb, null, 1) + "\n");
      console.log(`stripped outputs of ${name}`);
    }
  }
  if (!(await sh(Deno.execPath(), ["jupyter", "--install", "--force"], dir))) Deno.exit(1);
  const out = await Deno.makeTempDir({ prefix: "edgeslim-notebooks-" });
  const failed: string[] = [];
  for (const name of names) {
    const t0 = performance.now();
    const ok = await sh("jupyter", [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.kernel_name=deno",
      "--ExecutePreprocessor.timeout=240",
      "--output-dir",
      out,
      join(dir, name),
    ], dir);
    const seconds = (performance.now() - t0) / 1000;
    const silent = ok ? silentCells(JSON.parse(await Deno.readTextFile(join(out, name)))) : [];
    const why = !ok
      ? "a cell failed"
      : silent.length
      ? `code cell(s) ${silent.join(", ")} saved no output`
      : seconds > BUDGET_S
      ? `over the ${BUDGET_S} s budget`
      : "";
    console.log(`${why ? "FAILED" : "ok"} ${name} (${seconds.toFixed(1)} s)${why ? `: ${why}` : ""}`);
    if (why) failed.push(name);
  }
  console.log(`executed notebooks are in ${out}`);
  if (failed.length > 0) {
    console.error(`notebooks failed: ${failed.join(", ")}`);
    Deno.exit(1);
  }
}

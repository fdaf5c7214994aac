import assert from "node:assert/strict";
import { silentCells, stripOutputs } from "../notebooks/run.ts";

const NOTEBOOKS = [
  "training",
  "training_distillation_total",
  "training_prune_total",
  "inference_distillation_total",
  "inference_prune_total",
  "unet",
  "unet_inference",
];

Deno.test("notebooks: the five of seed 003 and the two U-Net ones (seed 000) are committed without outputs, on the Deno kernel", async () => {
  for (const name of NOTEBOOKS) {
    const nb = JSON.parse(await Deno.readTextFile(`notebooks/${name}.ipynb`));
    assert.equal(nb.metadata.kernelspec.name, "deno", name);
    const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code");
    assert.ok(code.length > 0, name);
    for (const cell of code) {
      assert.deepEqual(cell.outputs, [], `${name}: outputs`);
      assert.equal(cell.execution_count, null, `${name}: execution_count`);
    }
    assert.ok(
      nb.cells.some((c: { cell_type: string; source: string[] }) =>
        c.cell_type === "markdown" && /[가-힣]/.test(c.source.join(""))
      ),
      `${name}: Korean text`,
    );
    assert.ok(stripOutputs(nb) === false, `${name}: already stripped`);
  }
});

Deno.test("notebooks: stripOutputs clears outputs and counts", () => {
  const nb = {
    cells: [{ cell_type: "code", outputs: [{ x: 1 }], execution_count: 3 }, { cell_type: "markdown" }],
  };
  assert.equal(stripOutputs(nb), true);
  assert.deepEqual(nb.cells[0], { cell_type: "code", outputs: [], execution_count: null });
});

Deno.test("notebooks: an executed code cell without output is reported, unless marked // no output", () => {
  const nb = {
    cells: [
      { cell_type: "code", source: ["x"], outputs: [{ output_type: "display_data" }] },
      { cell_type: "markdown", source: ["# t"] },
      { cell_type: "code", source: ["await show(y);"], outputs: [] },
      { cell_type: "code", source: ["const z = 1; // no output"], outputs: [] },
    ],
  };
  assert.deepEqual(silentCells(nb), [2]);
});

Deno.test("notebooks: every code cell shows its result through show() (the kernel can drop a last expression)", async () => {
  for (const name of NOTEBOOKS) {
    const nb = JSON.parse(await Deno.readTextFile(`notebooks/${name}.ipynb`));
    for (const [i, cell] of nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code").entries()) {
      const source = cell.source.join("");
      assert(source.includes("await show(") || source.includes("// no output"), `${name} code cell ${i + 1}`);
    }
  }
});

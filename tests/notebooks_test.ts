import assert from "node:assert/strict";
import { stripOutputs } from "../notebooks/run.ts";

const NOTEBOOKS = [
  "training",
  "training_distillation_total",
  "training_prune_total",
  "inference_distillation_total",
  "inference_prune_total",
  "unet",
];

Deno.test("notebooks: the five of seed 003 and unet (seed 000) are committed without outputs, on the Deno kernel", async () => {
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

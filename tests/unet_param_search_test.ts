import assert from "node:assert/strict";
import { buildUNet } from "../pipeline/models/unet.ts";
import { searchUNetParams, unetParams, type UNetShape } from "../pipeline/models/unet_param_search.ts";

const base: UNetShape = {
  filters: [32, 64, 128, 256],
  separable: false,
  depthwiseBias: false,
  convsPerLevel: 2,
  batchNorm: 0,
  up: "transpose-2",
  firstKernel: 3,
  outputs: 1,
  bias: true,
};

Deno.test("the analytic count agrees with tfjs for every U-Net we build", () => {
  for (const filters of [[32, 64, 128, 256], [16, 32, 64], [8, 16, 32, 64]]) {
    for (const conv of ["standard", "separable"] as const) {
      for (const up of ["transpose", "bilinear"] as const) {
        const model = buildUNet({ filters, conv, up }, [32, 32, 3], 1);
        const shape: UNetShape = {
          ...base,
          filters,
          separable: conv === "separable",
          up: up === "transpose" ? "transpose-2" : "resize+conv-1",
        };
        assert.equal(unetParams(shape), model.countParams(), `${filters.join("-")} ${conv} ${up}`);
        model.dispose();
      }
    }
  }
});

Deno.test("the seed's 2,047,647: no U-Net of the space has it; ours are found exactly", () => {
  const seed = searchUNetParams(2_047_647);
  assert.equal(seed.searched, 69_984);
  assert.deepEqual(seed.found, []);
  assert.equal(seed.nearest.length, 3);
  assert.equal(seed.nearest[0].params, 2_039_913);
  assert.equal(unetParams(base), 1_925_601);
  assert.equal(unetParams({ ...base, separable: true }), 380_764);
  assert.ok(
    searchUNetParams(1_925_601).found.some((f) => f.description.startsWith("32-64-128-256, standard")),
  );
});

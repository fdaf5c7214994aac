/**
 * Where does the seed's 2,047,647-parameter "standard U-Net" come from? The seed's depthwise
 * U-Net (380,764) is exactly ours, but the same topology with standard convs has 1,925,601. This
 * enumerates U-Net variants analytically (widths, depth, convs per level, batch norm, kinds of
 * up-sampling, first kernel, output channels, biases) and lists the exact matches and the nearest.
 */

/** One U-Net variant of the search space. */
export interface UNetShape {
  /** Filters per level, the last one the bottleneck. */
  filters: number[];
  separable: boolean;
  /** Separable only: a bias on the depthwise step too (Keras has none; some hand-written U-Nets do). */
  depthwiseBias: boolean;
  convsPerLevel: number;
  /** Parameters per channel of a batch norm after each conv: 0 none, 2 (γ, β) or 4 (Keras also counts the moving statistics). */
  batchNorm: 0 | 2 | 4;
  /** `transpose-k`: a k×k stride-2 transposed conv; `resize+conv-k`: up-sampling then a k×k conv; `resize`: up-sampling alone. */
  up: "transpose-2" | "transpose-3" | "resize+conv-1" | "resize+conv-2" | "resize+conv-3" | "resize";
  firstKernel: number;
  outputs: number;
  bias: boolean;
}

/** Parameter count of `s` on RGB input (the same arithmetic as tfjs's countParams). */
export function unetParams(s: UNetShape): number {
  const b = (c: number) => s.bias ? c : 0;
  const conv = (cin: number, cout: number, k: number) =>
    (s.separable ? cin * k * k + (s.depthwiseBias ? cin : 0) + cin * cout : cin * cout * k * k) + b(cout) +
    s.batchNorm * cout;
  const block = (cin: number, cout: number, firstK = 3) => {
    let n = conv(cin, cout, firstK);
    for (let i = 1; i < s.convsPerLevel; i++) n += conv(cout, cout, 3);
    return n;
  };
  let params = 0, cin = 3;
  for (const f of s.filters) params += block(cin, f, cin === 3 ? s.firstKernel : 3), cin = f;
  for (const f of s.filters.slice(0, -1).reverse()) {
    const [kind, k] = s.up.split("-");
    const upOut = s.up === "resize" ? cin : f;
    if (kind === "transpose") params += cin * f * Number(k) ** 2 + b(f);
    else if (kind === "resize+conv") params += cin * f * Number(k) ** 2 + b(f);
    params += block(upOut + f, f);
    cin = f;
  }
  return params + cin * s.outputs + b(s.outputs);
}

/** The search's outcome, as the train stage records it for the report. */
export interface ParamSearch {
  target: number;
  found: { description: string; params: number }[];
  nearest: { description: string; params: number; delta: number }[];
  searched: number;
  space: string;
}

/**
 * Every shape of the space against `target`: exact matches and the `keep` nearest.
 *
 * @example
 * ```ts
 * import { searchUNetParams } from "./unet_param_search.ts";
 * const s = searchUNetParams(380_764);
 * if (!s.found.some((f) => f.description.startsWith("32-64-128-256, separable"))) throw new Error(JSON.stringify(s.found));
 * ```
 */
export function searchUNetParams(target: number, keep = 3): ParamSearch {
  const found: ParamSearch["found"] = [], all: ParamSearch["nearest"] = [];
  let searched = 0;
  for (const shape of shapes()) {
    const params = unetParams(shape);
    searched++;
    const description = describe(shape);
    if (params === target) found.push({ description, params });
    all.push({ description, params, delta: params - target });
  }
  all.sort((a, b) => Math.abs(a.delta) - Math.abs(b.delta) || a.description.localeCompare(b.description));
  return { target, found, nearest: all.filter((n) => n.delta !== 0).slice(0, keep), searched, space: SPACE };
}

const SPACE =
  "first width 8/16/24/32/48/64 doubling over 2–5 levels plus a bottleneck; standard or separable convs " +
  "(depthwise bias or not); 1–3 convs per level; batch norm none / 2 / 4 params per channel; up-sampling by a 2×2 or " +
  "3×3 transposed conv, by resize + 1×1 / 2×2 / 3×3 conv, or by resize alone; first kernel 3 / 5 / 7; " +
  "1–3 output channels; conv biases or not";

function* shapes(): Generator<UNetShape> {
  const ups = [
    "transpose-2",
    "transpose-3",
    "resize+conv-1",
    "resize+conv-2",
    "resize+conv-3",
    "resize",
  ] as const;
  for (const base of [8, 16, 24, 32, 48, 64]) {
    for (let levels = 2; levels <= 5; levels++) {
      const filters = Array.from({ length: levels + 1 }, (_, i) => base * 2 ** i);
      for (const separable of [false, true]) {
        for (const depthwiseBias of separable ? [false, true] : [false]) {
          for (const convsPerLevel of [1, 2, 3]) {
            for (const batchNorm of [0, 2, 4] as const) {
              for (const up of ups) {
                for (const firstKernel of [3, 5, 7]) {
                  for (const outputs of [1, 2, 3]) {
                    for (const bias of [true, false]) {
                      yield {
                        filters,
                        separable,
                        depthwiseBias,
                        convsPerLevel,
                        batchNorm,
                        up,
                        firstKernel,
                        outputs,
                        bias,
                      };
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

function describe(s: UNetShape): string {
  return [
    s.filters.join("-"),
    s.separable ? `separable${s.depthwiseBias ? " (depthwise bias)" : ""}` : "standard",
    `${s.convsPerLevel} conv/level`,
    s.batchNorm ? `BN ${s.batchNorm}/ch` : "no BN",
    s.up,
    `first ${s.firstKernel}×${s.firstKernel}`,
    `${s.outputs} out`,
    s.bias ? "biases" : "no conv biases",
  ].join(", ");
}

/**
 * Every model by the name the pipeline file uses, across families: the classifiers (seed 003) and the
 * U-Nets (seed 000), each with the technique its rows record. The stages' `models`, `teacher` and
 * `students` params take these names; a name of the wrong family for the data set's task is refused
 * naming the field.
 */
import type * as tf from "@tensorflow/tfjs";
import { ExpectedError } from "../core/errors.ts";
import { buildClassifier, CLASSIFIERS, type ClassifierSpec } from "./classifier.ts";
import { buildUNet, UNETS, type UNetSpec } from "./unet.ts";

/** A model of the table: its family, its spec and the technique it stands for. */
export type ModelEntry =
  | { name: string; family: "classifier"; technique: string; spec: ClassifierSpec }
  | { name: string; family: "unet"; technique: string; spec: UNetSpec };

/** What each U-Net stands for in the lightweight-techniques table (seed 000). */
const UNET_TECHNIQUES: Record<string, string> = {
  unet_standard: "reference",
  unet_depthwise: "depthwise_separable",
  unet_half: "width_0.5",
  unet_shallow: "shallower",
  unet_bilinear: "bilinear_up",
  unet_lowres: "low_resolution",
  unet_small: "width_0.25",
};

/** The task each family serves. */
const FAMILY_TASK = { classifier: "classification", unet: "segmentation" } as const;

/** Every model by name. */
export const MODELS: Record<string, ModelEntry> = {
  ...Object.fromEntries(
    Object.entries(CLASSIFIERS).map(([name, spec]) => [
      name,
      { name, family: "classifier", technique: "baseline", spec },
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(UNETS).map(([name, spec]) => [
      name,
      { name, family: "unet", technique: UNET_TECHNIQUES[name] ?? name, spec },
    ]),
  ),
};

/** The names, as a zod enum wants them. */
export const MODEL_NAMES = Object.keys(MODELS) as [string, ...string[]];

/**
 * The entry of `name` for a data set of `task`; `field` names the param in the error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelFor } from "./mod.ts";
 * assert(modelFor("unet_half", "segmentation", "train: params.models[0]").technique === "width_0.5");
 * assert.throws(() => modelFor("teacher", "segmentation", "train: params.models[0]"), /is a classifier/);
 * ```
 * @throws ExpectedError naming `field` and the names that fit.
 */
export function modelFor(name: string, task: "classification" | "segmentation", field: string): ModelEntry {
  const entry = MODELS[name];
  const fitting = Object.values(MODELS).filter((m) => FAMILY_TASK[m.family] === task).map((m) => m.name);
  if (!entry) {
    throw new ExpectedError(`${field}: unknown model "${name}"; expected one of ${fitting.join(", ")}`);
  }
  if (FAMILY_TASK[entry.family] !== task) {
    const kind = entry.family === "unet" ? "a U-Net" : "a classifier";
    throw new ExpectedError(
      `${field}: "${name}" is ${kind}, but the data set's task is ${task}: use one of ${fitting.join(", ")}`,
    );
  }
  return entry;
}

/**
 * Side of the square input `entry` takes on a data set of `dataSize` (a U-Net's `inputScale`); a
 * U-Net's side must halve cleanly at every pooling level.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inputSideOf, MODELS } from "./mod.ts";
 * assert(inputSideOf(MODELS.unet_lowres, 64) === 32 && inputSideOf(MODELS.unet_standard, 64) === 64);
 * ```
 * @throws ExpectedError when the side does not fit the U-Net's levels.
 */
export function inputSideOf(entry: ModelEntry, dataSize: number): number {
  if (entry.family === "classifier") return dataSize;
  const side = Math.round(dataSize * (entry.spec.inputScale ?? 1));
  const step = 2 ** (entry.spec.filters.length - 1);
  if (side < step || side % step !== 0) {
    throw new ExpectedError(
      `model "${entry.name}" would take ${side}×${side} inputs (data set size ${dataSize} × ${
        entry.spec.inputScale ?? 1
      }); its ${entry.spec.filters.length - 1} pooling levels need a multiple of ${step}: change fetch.size`,
    );
  }
  return side;
}

/** Build `entry` for a data set of `dataSize` pixels and `classes` classes, with initial weights from `seed`. */
export function buildModel(
  entry: ModelEntry,
  dataSize: number,
  classes: number,
  seed: number,
): tf.LayersModel {
  const side = inputSideOf(entry, dataSize);
  return entry.family === "classifier"
    ? buildClassifier({ ...entry.spec, classes }, [side, side, 3], seed)
    : buildUNet(entry.spec, [side, side, 3], seed);
}

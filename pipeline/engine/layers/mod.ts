/**
 * The table of layer kinds the engine trains: tfjs-layers class name → kind. A new layer kind
 * is one file in this folder and one entry here.
 */
import type { LayerKind } from "./_types.ts";
import { batchNorm } from "./batch_norm.ts";
import { conv2d } from "./conv2d.ts";
import { conv2dTranspose } from "./conv2d_transpose.ts";
import { dense } from "./dense.ts";
import { depthwiseConv2d } from "./depthwise_conv2d.ts";
import { activation, dropout, flatten, relu } from "./elementwise.ts";
import { add, concatenate } from "./merge.ts";
import { averagePooling2d, globalAveragePooling2d, globalMaxPooling2d, maxPooling2d } from "./pooling.ts";
import { separableConv2d } from "./separable_conv2d.ts";
import { upSampling2d } from "./upsampling2d.ts";

export type {
  LayerConfig,
  LayerKind,
  LayerPlan,
  NodeInfo,
  StepContext,
  SyncSum,
  WeightSpec,
} from "./_types.ts";

const KINDS: LayerKind[] = [
  conv2d,
  depthwiseConv2d,
  separableConv2d,
  conv2dTranspose,
  batchNorm,
  activation,
  relu,
  maxPooling2d,
  averagePooling2d,
  globalAveragePooling2d,
  globalMaxPooling2d,
  upSampling2d,
  concatenate,
  add,
  dropout,
  flatten,
  dense,
];

/** Layer kinds by tfjs-layers class name. */
export const LAYER_KINDS: ReadonlyMap<string, LayerKind> = new Map(
  KINDS.flatMap((k) => k.classNames.map((name) => [name, k] as const)),
);

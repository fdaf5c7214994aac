/**
 * edgeslim's CPU training engine (Deno).
 *
 * - `createTrainer()` trains any tfjs-layers model built from the kinds in `layers/` (conv,
 *   depthwise, separable, transposed conv, batch norm, pooling, up-sampling, concatenate, add,
 *   dropout, flatten, dense, activations) with a loss from `losses/`: data-parallel Deno Workers
 *   (one per core) run native kernels (`native/`, C built at first use) on their shard of each
 *   batch; batch norm and batch-wide losses are synchronous across the shards; Adam on the main
 *   thread. It also predicts and recalibrates batch-norm statistics in the workers.
 * - `initEngine()` selects tfjs' wasm backend for inference (`model.predict`) and registers faster
 *   kernels for what that inference calls: the input gradient a transposed conv runs forward, and
 *   leading-axis Sum / Mean / Tile.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createTrainer, initEngine } from "./mod.ts";
 * import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
 * await initEngine();
 * const model = buildClassifier(CLASSIFIERS.small, [16, 16, 3], 1);
 * const trainer = await createTrainer({ model, loss: "softmax_cross_entropy", seed: 1, learningRate: 1e-3 });
 * const x = new Float32Array(4 * 16 * 16 * 3).fill(0.5), labels = Int32Array.of(0, 1, 0, 1);
 * const { loss } = await trainer.trainStep(x, labels);
 * trainer.exportTo(model);
 * await trainer.dispose();
 * if (!(Math.abs(loss - Math.log(2)) < 0.5)) throw new Error(`loss ${loss}`);
 * ```
 */
export { initEngine } from "./init.ts";
export {
  createTrainer,
  defaultWorkers,
  type Trainer,
  type TrainerOptions,
  type TrainerSnapshot,
} from "./trainer.ts";
export { graphOf, type GraphSpec, UnsupportedLayerError } from "./graph.ts";
export { LOSSES, type LossName } from "./losses/mod.ts";
export { registerConvKernels } from "./conv_kernels.ts";
export { registerReduceKernels } from "./reduce_kernels.ts";

/**
 * edgeslim's fast CPU training engine (tfjs, Deno).
 *
 * - `initEngine()` selects the wasm backend and registers kernels it lacks or runs slowly:
 *   Conv2DBackpropFilter/Input, DepthwiseConv2dNativeBackpropFilter/Input, MaxPoolGrad, and
 *   leading-axis Sum/Mean/Tile fast paths (so generic tfjs-layers training on wasm works too).
 * - `createTrainer()` trains the classifier family with a hand-written forward/backward
 *   (wasm XNNPACK convs + fused JS batch-norm/ReLU/pool loops), synchronous batch norm across
 *   data-parallel Deno Workers (one per core), and Adam on the main thread.
 *
 * @example
 * ```ts
 * import { createTrainer, initEngine } from "./mod.ts";
 * import { buildClassifier, CLASSIFIERS } from "../models/classifier.ts";
 * await initEngine();
 * const trainer = await createTrainer({ model: CLASSIFIERS.small, inputShape: [64, 64, 3], seed: 1, learningRate: 1e-3 });
 * const { loss, correct } = await trainer.trainStep(x, labels); // x: NHWC Float32Array in [0,1]
 * const model = buildClassifier(CLASSIFIERS.small, [64, 64, 3], 1);
 * await trainer.exportTo(model); // then model.predict(...) on wasm
 * await trainer.dispose();
 * ```
 */
export { initEngine } from "./init.ts";
export { createTrainer, type SoftTargets, type Trainer, type TrainerOptions } from "./trainer.ts";
export { registerConvKernels } from "./conv_kernels.ts";
export { registerPoolKernels } from "./pool_kernels.ts";
export { registerReduceKernels } from "./reduce_kernels.ts";

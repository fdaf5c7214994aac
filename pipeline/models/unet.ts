/**
 * The reference project's U-Nets (seed 000) and the lightweight variants compared with them:
 * encoder levels of two 3×3 convs + ReLU and a 2×2
 * max-pool, a bottleneck, decoder levels of a 2×2 stride-2 transposed conv (with bias), the skip
 * concatenated, two 3×3 convs; a 1×1 conv to one sigmoid output. No batch norm. `conv: "separable"`
 * makes every 3×3 conv depthwise-separable (depthwise 3×3 + pointwise with bias).
 */
import * as tf from "@tensorflow/tfjs";

export interface UNetSpec {
  /** Filters per level, the last one the bottleneck (e.g. 32-64-128-256: three levels down). */
  filters: number[];
  conv: "standard" | "separable";
  /** Up-sampling: a transposed conv, or bilinear / nearest up-sampling + a 1×1 conv. @default "transpose" */
  up?: "transpose" | "bilinear" | "nearest";
  /** Output channels (1: binary mask with sigmoid). @default 1 */
  classes?: number;
  /**
   * Input side relative to the data set's (0.5: half the resolution; the caller resizes the images
   * down and the predicted probabilities back up). `buildUNet` takes the input shape as given. @default 1
   */
  inputScale?: number;
}

/** The reference's two U-Nets and the lightweight variants, keyed by the names used in the pipeline file. */
export const UNETS: Record<string, UNetSpec> = {
  /** 1,925,601 params: the reference topology with standard convs. */
  unet_standard: { filters: [32, 64, 128, 256], conv: "standard" },
  /** 380,764 params: the reference's depthwise-separable U-Net. */
  unet_depthwise: { filters: [32, 64, 128, 256], conv: "separable" },
  /** 482,033 params: half the filters. */
  unet_half: { filters: [16, 32, 64, 128], conv: "standard" },
  /** 466,529 params: one level fewer (two pools). */
  unet_shallow: { filters: [32, 64, 128], conv: "standard" },
  /** 1,796,577 params: bilinear up-sampling + 1×1 conv instead of the 2×2 transposed conv. */
  unet_bilinear: { filters: [32, 64, 128, 256], conv: "standard", up: "bilinear" },
  /** 1,925,601 params: the standard U-Net fed at half the data set's resolution. */
  unet_lowres: { filters: [32, 64, 128, 256], conv: "standard", inputScale: 0.5 },
  /** 120,825 params: a quarter of the filters, the distillation student. */
  unet_small: { filters: [8, 16, 32, 64], conv: "standard" },
};

/**
 * Build a U-Net with deterministic initial weights for `seed`.
 *
 * @example
 * ```ts
 * import { buildUNet, UNETS } from "./unet.ts";
 * const m = buildUNet(UNETS.unet_depthwise, [128, 128, 3], 42);
 * if (m.countParams() !== 380_764) throw new Error(`${m.countParams()} params`);
 * m.dispose();
 * ```
 */
export function buildUNet(
  spec: UNetSpec,
  inputShape: [number, number, number],
  seed: number,
): tf.LayersModel {
  let layerSeed = seed;
  const init = () => tf.initializers.heNormal({ seed: layerSeed++ });
  const separable: { name: string; seeds: [number, number] }[] = [];
  const conv = (x: tf.SymbolicTensor, filters: number, name: string) => {
    const common = { name, filters, kernelSize: 3, padding: "same" as const, activation: "relu" as const };
    if (spec.conv === "standard") {
      return tf.layers.conv2d({ ...common, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
    }
    // Initialised once built: tfjs gives the pointwise kernel the depthwise initializer.
    separable.push({ name, seeds: [layerSeed++, layerSeed++] });
    return tf.layers.separableConv2d(common).apply(x) as tf.SymbolicTensor;
  };
  const input = tf.input({ shape: inputShape, name: "image" });
  const skips: tf.SymbolicTensor[] = [];
  let x = input;
  const levels = spec.filters.length - 1;
  for (let i = 0; i < levels; i++) {
    x = conv(conv(x, spec.filters[i], `down${i + 1}_a`), spec.filters[i], `down${i + 1}_b`);
    skips.push(x);
    x = tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  }
  x = conv(conv(x, spec.filters[levels], "bottleneck_a"), spec.filters[levels], "bottleneck_b");
  for (let i = levels - 1; i >= 0; i--) {
    const f = spec.filters[i];
    x = (spec.up ?? "transpose") === "transpose"
      ? tf.layers.conv2dTranspose({
        name: `up${i + 1}`,
        filters: f,
        kernelSize: 2,
        strides: 2,
        padding: "same",
        kernelInitializer: init(),
      }).apply(x) as tf.SymbolicTensor
      : tf.layers.conv2d({ name: `up${i + 1}`, filters: f, kernelSize: 1, kernelInitializer: init() }).apply(
        tf.layers.upSampling2d({
          name: `resize${i + 1}`,
          size: [2, 2],
          interpolation: spec.up as "bilinear" | "nearest",
        }).apply(x),
      ) as tf.SymbolicTensor;
    x = tf.layers.concatenate({ name: `skip${i + 1}` }).apply([x, skips[i]]) as tf.SymbolicTensor;
    x = conv(conv(x, f, `dec${i + 1}_a`), f, `dec${i + 1}_b`);
  }
  const output = tf.layers.conv2d({
    name: "mask",
    filters: spec.classes ?? 1,
    kernelSize: 1,
    activation: "sigmoid",
    kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed++ }),
  }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ name: "unet", inputs: input, outputs: output });
  for (const { name, seeds } of separable) initSeparable(model.getLayer(name), seeds);
  return model;
}

/**
 * He initialisation of a separable conv on each kernel's true fan-in: the depthwise kernel's is 9
 * (variance 1/9: no ReLU between it and the pointwise), the pointwise's the input channels (He).
 * tfjs' default would count the depthwise fan-in as 9·C and shrink the signal by √C per layer.
 */
function initSeparable(layer: tf.layers.Layer, [depthwiseSeed, pointwiseSeed]: [number, number]) {
  const [depthwise, pointwise, bias] = layer.weights;
  const values = [
    tf.initializers.varianceScaling({
      scale: depthwise.shape[2]!,
      distribution: "normal",
      seed: depthwiseSeed,
    })
      .apply(depthwise.shape),
    tf.initializers.heNormal({ seed: pointwiseSeed }).apply(pointwise.shape),
    tf.zeros(bias.shape as number[]),
  ];
  layer.setWeights(values);
  tf.dispose(values);
}

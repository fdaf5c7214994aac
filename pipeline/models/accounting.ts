/**
 * Parameter and FLOP accounting for tfjs-layers models.
 *
 * FLOPs = 2 × MACs of convolutions and dense layers (as thop + "macs × 2" in the seed): a conv's
 * output pixels × its kernel; a separable conv's depthwise and pointwise kernels; a transposed conv's
 * input pixels × its kernel (each scatters a whole kernel). Biases, batch norm, activations, pooling
 * and up-sampling (nearest or bilinear interpolation, no weights) are not counted; the 1×1 conv after
 * a U-Net's up-sampling is. tests/train_segmentation_test.ts checks every U-Net against a count by hand.
 */
import type * as tf from "@tensorflow/tfjs";

export interface Accounting {
  /** PyTorch convention: trainable weights (conv/dense weight + bias, BN gamma + beta). */
  params_total: number;
  params_zero: number;
  params_nonzero: number;
  /** tfjs's own count, BN moving mean/variance included. */
  params_tfjs: number;
  /** 2 × multiply-accumulates for one image. */
  flops: number;
  /** float32 weight bytes, PyTorch convention (params_total × 4). */
  weight_bytes: number;
}

/** Count parameters (total / zero / non-zero) and FLOPs of `model` for one input image. */
export function account(model: tf.LayersModel): Accounting {
  let total = 0;
  let zero = 0;
  for (const weight of model.trainableWeights) {
    const values = weight.read().dataSync();
    total += values.length;
    for (const v of values) if (v === 0) zero++;
  }
  return {
    params_total: total,
    params_zero: zero,
    params_nonzero: total - zero,
    params_tfjs: model.countParams(),
    flops: 2 * macs(model),
    weight_bytes: total * 4,
  };
}

function macs(model: tf.LayersModel): number {
  const product = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
  let sum = 0;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    const kernels = layer.getWeights().map((w) => w.shape as number[]);
    const [, outH, outW, outC] = layer.outputShape as number[];
    if (kind === "Conv2D") sum += outH * outW * product(kernels[0]);
    else if (kind === "DepthwiseConv2D") sum += outH * outW * product(kernels[0].slice(0, 2)) * outC;
    else if (kind === "SeparableConv2D") sum += outH * outW * (product(kernels[0]) + product(kernels[1]));
    else if (kind === "Conv2DTranspose") {
      // Every input pixel scatters a full kh·kw·Cout·Cin kernel.
      const [, inH, inW] = (layer.input as tf.SymbolicTensor).shape as number[];
      sum += inH * inW * product(kernels[0]);
    } else if (kind === "Dense") sum += product(kernels[0]);
  }
  return sum;
}

/**
 * Conv2DBackpropInput for the wasm backend, which runs it at ~2 GFLOP/s: tfjs calls it for the
 * forward pass of every transposed conv (U-Net up-sampling), so inference on wasm needs it fast.
 * Any stride and padding; NHWC; dilation 1. Training does not go through tfjs (see trainer.ts).
 */
import * as tf from "@tensorflow/tfjs-core";
import { conv2d, download, matmul, upload } from "./_wasm_ops.ts";
import { col2im, type ConvGeom } from "./_im2col.ts";

type Info = tf.TensorInfo;
// deno-lint-ignore no-explicit-any
type Backend = any;

function geom(info: tf.backend_util.Conv2DInfo): ConvGeom {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    oh: info.outHeight,
    ow: info.outWidth,
  };
}

function nhwcOnly(format: unknown): void {
  if (format != null && format !== "NHWC") {
    throw new Error(`edgeslim wasm conv grads: only NHWC, got ${format}`);
  }
}

/** dx for a conv with filter w[kh,kw,ci,co]: stride 1 → a forward conv with the flipped filter; else matmul + col2im. */
export function convInputGrad(
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
  co: number,
  padBottom: number,
  padRight: number,
): Float32Array {
  const { kh, kw, c } = g;
  const pt = kh - 1 - g.padTop, pb = kh - 1 - padBottom, pl = kw - 1 - g.padLeft, pr = kw - 1 - padRight;
  if (g.sh === 1 && g.sw === 1 && pt >= 0 && pb >= 0 && pl >= 0 && pr >= 0) {
    const wr = new Float32Array(w.length); // wr[ky,kx,co,ci] = w[kh-1-ky, kw-1-kx, ci, co]
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const s = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * c * co, d = (ky * kw + kx) * co * c;
        for (let ci = 0; ci < c; ci++) for (let o = 0; o < co; o++) wr[d + o * c + ci] = w[s + ci * co + o];
      }
    }
    const pad = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
    return conv2d(dy, [g.n, g.oh, g.ow, co], wr, [kh, kw, co, c], [1, 1], pad).data;
  }
  const k = kh * kw * c;
  const wt = new Float32Array(k * co); // W^T[co, k]
  for (let i = 0; i < k; i++) for (let o = 0; o < co; o++) wt[o * k + i] = w[i * co + o];
  return col2im(matmul(dy, wt, g.n * g.oh * g.ow, co, k), g);
}

const conv2DBackpropInput: tf.KernelFunc = ({ inputs, attrs }) => {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  nhwcOnly(dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const out = convInputGrad(
    download(dy),
    download(filter),
    geom(info),
    info.outChannels,
    info.padInfo.bottom,
    info.padInfo.right,
  );
  return upload(out, inputShape);
};

/** Register (or replace) the Conv2DBackpropInput kernel for `wasm`. Idempotent. */
export function registerConvKernels(): void {
  const kernels: [string, tf.KernelFunc][] = [
    [tf.Conv2DBackpropInput, conv2DBackpropInput],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
  }
}

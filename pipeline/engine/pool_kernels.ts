/**
 * MaxPoolGrad for the wasm backend as one pass over the pooling windows (any size, stride,
 * padding), replacing wasm's slower generic kernel. Gradients go to the first maximum of each
 * window, as tfjs' cpu backend does.
 */
import * as tf from "@tensorflow/tfjs-core";
import { upload } from "./_wasm_ops.ts";

type Info = tf.TensorInfo;

const maxPoolGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: Info; input: Info };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  // deno-lint-ignore no-explicit-any
  const b = backend as any;
  const x = b.typedArrayFromHeap(input) as Float32Array, g = b.typedArrayFromHeap(dy) as Float32Array;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const dx = new Float32Array(n * h * w * c);
  const best = new Float32Array(c), at = new Int32Array(c);
  for (let bi = 0; bi < n; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - info.padInfo.top, yMin = Math.max(0, y0), yMax = Math.min(h, y0 + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - info.padInfo.left, xMin = Math.max(0, x0), xMax = Math.min(w, x0 + fw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let y = yMin; y < yMax; y++) {
          for (let xx = xMin; xx < xMax; xx++) {
            const p = ((bi * h + y) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) {
              if (x[p + ch] > best[ch]) {
                best[ch] = x[p + ch];
                at[ch] = p + ch;
              }
            }
          }
        }
        const o = ((bi * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) if (at[ch] >= 0) dx[at[ch]] += g[o + ch];
      }
    }
  }
  return upload(dx, input.shape);
};

/** Register (or replace) MaxPoolGrad for `wasm`. Idempotent. */
export function registerPoolKernels(): void {
  if (tf.getKernel(tf.MaxPoolGrad, "wasm")) tf.unregisterKernel(tf.MaxPoolGrad, "wasm");
  tf.registerKernel({ kernelName: tf.MaxPoolGrad, backendName: "wasm", kernelFunc: maxPoolGrad });
}

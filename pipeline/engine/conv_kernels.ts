/**
 * Convolution gradient kernels for the wasm backend, which lacks (or is slow at) them:
 * Conv2DBackpropFilter, Conv2DBackpropInput, DepthwiseConv2dNativeBackpropFilter/Input.
 * Any stride and padding; NHWC; dilation 1 for regular convs (as tfjs' own gradients require).
 */
import * as tf from "@tensorflow/tfjs-core";
import { alloc, conv2d, download, free, heap, matmul, upload } from "./_wasm_ops.ts";
import { convGrid, filterGradS1, padInput } from "./_filter_grad.ts";
import { col2im, type ConvGeom, im2colT } from "./_im2col.ts";

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

/** dW = im2col(x)^T · dy through the wasm matmul. */
export function convFilterGrad(x: Float32Array, dy: Float32Array, g: ConvGeom, co: number): Float32Array {
  const k = g.kh * g.kw * g.c;
  return matmul(im2colT(x, g), dy, k, g.n * g.oh * g.ow, co);
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

/** Stride 1: per-image shifted GEMMs (see _filter_grad.ts), no im2col. */
function filterGradStride1(x: Info, dy: Info, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow, padInfo: pad } = info;
  const p = convGrid(n, h, w, info.filterHeight, info.filterWidth, [
    pad.top,
    pad.bottom,
    pad.left,
    pad.right,
  ]);
  const xPad = padInput(x, p, ci);
  const dz = alloc([p.l * co]);
  const dzv = heap(dz), dyv = heap(dy);
  dzv.fill(0);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const src = (b * oh + oy) * ow * co;
      dzv.set(dyv.subarray(src, src + ow * co), (b * p.s + oy * p.wp) * co);
    }
  }
  const out = filterGradS1(xPad, dz, p, ci, co);
  free(xPad, dz);
  return out;
}

function read(b: Backend, t: Info): Float32Array {
  return b.typedArrayFromHeap(t) as Float32Array;
}

const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  nhwcOnly(dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (info.strideHeight === 1 && info.strideWidth === 1) {
    return upload(filterGradStride1(x, dy, info), filterShape);
  }
  const out = convFilterGrad(download(x), download(dy), geom(info), info.outChannels);
  return upload(out, filterShape);
};

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

function depthInfo(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap) {
  const { strides, dilations, pad, dimRoundingMode } = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  return { info, mult: filterShape[3] };
}

/** Plain loops: depthwise FLOPs are small. Calls `f(xIndex, dyIndex, wIndex)` for every tap. */
function depthwiseTaps(
  info: tf.backend_util.Conv2DInfo,
  mult: number,
  f: (xi: number, di: number, wi: number) => void,
): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const co = c * mult;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * sh + ky * dh - info.padInfo.top;
        if (iy < 0 || iy >= h) continue;
        for (let ox = 0; ox < ow; ox++) {
          const di = ((b * oh + oy) * ow + ox) * co;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw + kx * dw - info.padInfo.left;
            if (ix < 0 || ix >= w) continue;
            const xi = ((b * h + iy) * w + ix) * c, wi = (ky * kw + kx) * co;
            for (let ch = 0; ch < c; ch++) {
              for (let m = 0; m < mult; m++) f(xi + ch, di + ch * mult + m, wi + ch * mult + m);
            }
          }
        }
      }
    }
  }
}

const depthwiseBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const filterShape = (attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs).filterShape;
  const { info, mult } = depthInfo(x.shape, filterShape, attrs as tf.NamedAttrMap);
  const xv = read(backend, x), dv = read(backend, dy);
  const dw = new Float64Array(tf.util.sizeFromShape(filterShape));
  depthwiseTaps(info, mult, (xi, di, wi) => dw[wi] += xv[xi] * dv[di]);
  return upload(Float32Array.from(dw), filterShape);
};

const depthwiseBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const inputShape = (attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs).inputShape;
  const { info, mult } = depthInfo(inputShape, filter.shape, attrs as tf.NamedAttrMap);
  const wv = read(backend, filter), dv = read(backend, dy);
  const dx = new Float32Array(tf.util.sizeFromShape(inputShape));
  depthwiseTaps(info, mult, (xi, di, wi) => dx[xi] += dv[di] * wv[wi]);
  return upload(dx, inputShape);
};

/** Register (or replace) the four conv-gradient kernels for `wasm`. Idempotent. */
export function registerConvKernels(): void {
  const kernels: [string, tf.KernelFunc][] = [
    [tf.Conv2DBackpropFilter, conv2DBackpropFilter],
    [tf.Conv2DBackpropInput, conv2DBackpropInput],
    [tf.DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilter],
    [tf.DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInput],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
  }
}

#!/usr/bin/env python3
"""Run a .tflite file with Arm NN's TfLiteParser: an independent reader of our TFLite export.

usage: armnn_run.py MODEL.tflite INPUT.f32 OUT_DIR [--backend CpuRef]

INPUT.f32 holds N images, float32 NHWC, concatenated; the model's input tensor is batch 1, so
N = file size / input size and each image is one inference. A quantized (int8/uint8) input is
quantized here with the scale and zero point read from the file; a quantized output is
dequantized the same way. Each output i is written to OUT_DIR/output_<i>.f32 (float32, all N
images concatenated). A JSON line on stdout describes the inputs, outputs and backends.
"""
import contextlib
import io
import json
import os
import sys

import numpy as np

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import pyarmnn as ann  # (it prints which parsers it lacks)

NUMPY = {
    ann.DataType_Float32: np.float32,
    ann.DataType_Float16: np.float16,
    ann.DataType_QAsymmS8: np.int8,
    ann.DataType_QSymmS8: np.int8,
    ann.DataType_QAsymmU8: np.uint8,
    ann.DataType_Signed32: np.int32,
}


def describe(name, info):
    dtype = info.GetDataType()
    return {
        "name": name,
        "shape": list(info.GetShape()),
        "dtype": np.dtype(NUMPY.get(dtype, np.float32)).name,
        "quantized": bool(info.IsQuantized()),
        "scale": float(info.GetQuantizationScale()) if info.IsQuantized() else None,
        "zero_point": int(info.GetQuantizationOffset()) if info.IsQuantized() else None,
    }


def to_input(values, info):
    dtype = NUMPY[info.GetDataType()]
    if not info.IsQuantized():
        return values.astype(dtype)
    limits = np.iinfo(dtype)
    q = np.round(values / info.GetQuantizationScale()) + info.GetQuantizationOffset()
    return np.clip(q, limits.min, limits.max).astype(dtype)


def from_output(values, info):
    if not info.IsQuantized():
        return values.astype(np.float32)
    offset = info.GetQuantizationOffset()
    return ((values.astype(np.float32) - offset) * info.GetQuantizationScale()).astype(np.float32)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    backends = ["CpuRef"]
    if "--backend" in argv:
        backends = [argv[argv.index("--backend") + 1]]
        args.remove(backends[0])
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, input_path, out_dir = args
    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(model_path)
    in_names = parser.GetSubgraphInputTensorNames(0)
    out_names = parser.GetSubgraphOutputTensorNames(0)
    if len(in_names) != 1:
        raise SystemExit(f'armnn_run: "{model_path}" has {len(in_names)} inputs (expected 1)')
    in_binding = parser.GetNetworkInputBindingInfo(0, in_names[0])
    out_bindings = [parser.GetNetworkOutputBindingInfo(0, n) for n in out_names]

    runtime = ann.IRuntime(ann.CreationOptions())
    preferred = [ann.BackendId(b) for b in backends]
    optimized, messages = ann.Optimize(network, preferred, runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(optimized)

    in_info = in_binding[1]
    per_image = int(np.prod(list(in_info.GetShape())))
    images = np.fromfile(input_path, dtype=np.float32)
    if images.size % per_image:
        raise SystemExit(f'armnn_run: "{input_path}" has {images.size} floats, not a multiple of {per_image}')
    count = images.size // per_image
    results = [[] for _ in out_bindings]
    for i in range(count):
        x = to_input(images[i * per_image:(i + 1) * per_image].reshape(list(in_info.GetShape())), in_info)
        inputs = ann.make_input_tensors([in_binding], [x])
        outputs = ann.make_output_tensors(out_bindings)
        runtime.EnqueueWorkload(net_id, inputs, outputs)
        for j, y in enumerate(ann.workload_tensors_to_ndarray(outputs)):
            results[j].append(from_output(np.asarray(y), out_bindings[j][1]).reshape(-1))

    os.makedirs(out_dir, exist_ok=True)
    for j, chunks in enumerate(results):
        np.concatenate(chunks).astype(np.float32).tofile(os.path.join(out_dir, f"output_{j}.f32"))
    print(json.dumps({
        "armnn": ann.ARMNN_VERSION,
        "backends": backends,
        "images": count,
        "inputs": [describe(in_names[0], in_info)],
        "outputs": [describe(n, b[1]) for n, b in zip(out_names, out_bindings)],
        "messages": [str(m) for m in messages],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

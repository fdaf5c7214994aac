#!/usr/bin/env python3
"""Run a .tflite file with whichever TFLite runtime this machine's python3 has: the bench stage's
runner for TFLite on a board, and the export stage's independent Arm NN reader.

usage: tflite_run.py MODEL.tflite INPUT.f32 OUT_DIR [--runtime auto|NAME] [--threads N]
                     [--warmup W] [--runs R] [--backend CpuRef]

Runtimes, tried in this order by `auto`: tflite_runtime (pip tflite-runtime), ai_edge_litert
(pip ai-edge-litert, LiteRT), tensorflow (tf.lite), armnn (pyarmnn's TfLiteParser: Debian's
python3-pyarmnn; backends CpuAcc then CpuRef, or --backend).

INPUT.f32 holds N images, float32 NHWC, concatenated; the model's input is batch 1, so
N = file size / input size and each image is one inference. A quantized (int8/uint8) input is
quantized here with the scale and zero point read from the file; a quantized output is
dequantized the same way. Each output i is written to OUT_DIR/output_<i>.f32 (float32, all N
images concatenated). With --runs R, image 0 is first run W + R times and the R wall times
(ms, set input + invoke + read output, as an app does) are reported. One JSON line on stdout
describes the runtime, inputs, outputs and times; a failure is one line on stderr, exit 3.
"""
import contextlib
import importlib
import io
import json
import os
import platform
import sys
import time

import numpy as np

RUNTIMES = ["tflite_runtime", "ai_edge_litert", "tensorflow", "armnn"]


def quantize(values, dtype, scale, zero_point):
    if not scale:
        return values.astype(dtype)
    limits = np.iinfo(dtype)
    return np.clip(np.round(values / scale) + zero_point, limits.min, limits.max).astype(dtype)


def dequantize(values, scale, zero_point):
    if not scale:
        return values.astype(np.float32)
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


class TfliteInterpreter:
    """tflite_runtime, ai_edge_litert or tf.lite: the same Interpreter API."""

    MODULES = {
        "tflite_runtime": "tflite_runtime.interpreter",
        "ai_edge_litert": "ai_edge_litert.interpreter",
        "tensorflow": "tensorflow",
    }

    def __init__(self, name, model_path, threads):
        module = importlib.import_module(self.MODULES[name])
        cls = module.lite.Interpreter if name == "tensorflow" else module.Interpreter
        top = importlib.import_module(name)
        self.name = f"{name} {getattr(top, '__version__', '?')}"
        self.backend = "cpu"
        self.interpreter = cls(model_path=model_path, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()

    def describe(self, d):
        scale, zp = d["quantization"]
        return {"name": d["name"], "shape": [int(s) for s in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                "scale": float(scale) or None, "zero_point": int(zp) if scale else None}

    def input_info(self):
        return self.describe(self.input)

    def output_info(self):
        return [self.describe(d) for d in self.outputs]

    def run(self, x):
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(d["index"]) for d in self.outputs]


class ArmnnInterpreter:
    """Arm NN's TfLiteParser: parses the file itself, an independent reader of our export."""

    def __init__(self, model_path, backends):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import pyarmnn as ann  # (it prints which parsers it lacks)
        self.ann = ann
        self.numpy = {ann.DataType_Float32: np.float32, ann.DataType_Float16: np.float16,
                      ann.DataType_QAsymmS8: np.int8, ann.DataType_QSymmS8: np.int8,
                      ann.DataType_QAsymmU8: np.uint8, ann.DataType_Signed32: np.int32}
        parser = ann.ITfLiteParser()
        network = parser.CreateNetworkFromBinaryFile(model_path)
        in_names = parser.GetSubgraphInputTensorNames(0)
        if len(in_names) != 1:
            raise RuntimeError(f"{len(in_names)} inputs (expected 1)")
        self.in_name, self.out_names = in_names[0], parser.GetSubgraphOutputTensorNames(0)
        self.in_binding = parser.GetNetworkInputBindingInfo(0, self.in_name)
        self.out_bindings = [parser.GetNetworkOutputBindingInfo(0, n) for n in self.out_names]
        self.runtime = ann.IRuntime(ann.CreationOptions())
        spec = self.runtime.GetDeviceSpec()
        available = {str(b) for b in spec.GetSupportedBackends()}
        chosen = [b for b in backends if b in available] or ["CpuRef"]
        optimized, _ = ann.Optimize(network, [ann.BackendId(b) for b in chosen], spec, ann.OptimizerOptions())
        self.net_id, _ = self.runtime.LoadNetwork(optimized)
        self.name = f"Arm NN {ann.ARMNN_VERSION} (pyarmnn)"
        self.backend = chosen[0]

    def describe(self, name, info):
        q = bool(info.IsQuantized())
        return {"name": name, "shape": list(info.GetShape()),
                "dtype": np.dtype(self.numpy.get(info.GetDataType(), np.float32)).name,
                "scale": float(info.GetQuantizationScale()) if q else None,
                "zero_point": int(info.GetQuantizationOffset()) if q else None}

    def input_info(self):
        return self.describe(self.in_name, self.in_binding[1])

    def output_info(self):
        return [self.describe(n, b[1]) for n, b in zip(self.out_names, self.out_bindings)]

    def run(self, x):
        ann = self.ann
        inputs = ann.make_input_tensors([self.in_binding], [x])
        outputs = ann.make_output_tensors(self.out_bindings)
        self.runtime.EnqueueWorkload(self.net_id, inputs, outputs)
        return [np.asarray(y) for y in ann.workload_tensors_to_ndarray(outputs)]


def open_interpreter(runtime, model_path, threads, backends):
    """The first runtime of `auto` that imports (or the named one), with what each failure said."""
    tried = []
    for name in (RUNTIMES if runtime == "auto" else [runtime]):
        try:
            if name == "armnn":
                return ArmnnInterpreter(model_path, backends)
            return TfliteInterpreter(name, model_path, threads)
        except ImportError as e:
            tried.append(f"{name}: {str(e).splitlines()[0]}")
    raise RuntimeError("no TFLite runtime in this python3 (tried " + "; ".join(tried) +
                       "): on a Raspberry Pi, `pip install ai-edge-litert` (or tflite-runtime)")


def option(argv, name, default):
    if name not in argv:
        return default
    i = argv.index(name)
    value = argv[i + 1]
    del argv[i:i + 2]
    return value


def main(argv):
    argv = list(argv)
    runtime = option(argv, "--runtime", "auto")
    threads = int(option(argv, "--threads", "1"))
    warmup = int(option(argv, "--warmup", "0"))
    runs = int(option(argv, "--runs", "0"))
    backend = option(argv, "--backend", None)
    if len(argv) != 3 or runtime not in RUNTIMES + ["auto"]:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, input_path, out_dir = argv
    try:
        m = open_interpreter(runtime, model_path, threads, [backend] if backend else ["CpuAcc", "CpuRef"])
    except Exception as e:  # a clear line for the caller, which names the device and file
        print(f'tflite_run: cannot run "{model_path}": {e}', file=sys.stderr)
        return 3
    info, outs = m.input_info(), m.output_info()
    shape, dtype = info["shape"], np.dtype(info["dtype"])
    per_image = int(np.prod(shape))
    images = np.fromfile(input_path, dtype=np.float32)
    if images.size % per_image:
        print(f'tflite_run: "{input_path}" has {images.size} floats, not a multiple of {per_image}',
              file=sys.stderr)
        return 3
    count = images.size // per_image
    prepare = lambda i: quantize(images[i * per_image:(i + 1) * per_image].reshape(shape), dtype,
                                 info["scale"], info["zero_point"])
    finish = lambda ys: [dequantize(y, o["scale"], o["zero_point"]).reshape(-1) for y, o in zip(ys, outs)]
    times = []
    if runs:
        x0 = images[:per_image].reshape(shape)
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            finish(m.run(quantize(x0, dtype, info["scale"], info["zero_point"])))
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
    results = [[] for _ in outs]
    for i in range(count):
        for j, y in enumerate(finish(m.run(prepare(i)))):
            results[j].append(y)
    os.makedirs(out_dir, exist_ok=True)
    for j, chunks in enumerate(results):
        np.concatenate(chunks).astype(np.float32).tofile(os.path.join(out_dir, f"output_{j}.f32"))
    print(json.dumps({"runtime": m.name, "backend": m.backend, "python": platform.python_version(),
                      "threads": threads, "images": count, "inputs": [info], "outputs": outs,
                      "times_ms": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

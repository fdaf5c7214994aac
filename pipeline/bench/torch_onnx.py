"""PyTorch's own ONNX export of the U-Net of bench_infer.ts, with the tfjs model's weights.

    python3 torch_onnx.py --weights weights.json --out model.torch.onnx

weights.json (written by bench_infer.ts): {"model", "filters", "separable", "bin", "layers": [{"name",
"class", "weights": [{"shape", "offset"}]}]}, float32 values in "bin" (tfjs layouts). The U-Net is
pipeline/engine/bench_torch.py's (the same topology as pipeline/models/unet.ts); each tfjs layer's
weights are copied into its PyTorch module, then torch.onnx.export writes an NCHW model with input
"input" and output "output", as bench_infer.ts times both files in onnxruntime. Prints JSON last.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine"))
from bench_torch import UNet  # noqa: E402

# tfjs kernel layout -> PyTorch weight layout.
CONV = (3, 2, 0, 1)  # [kh, kw, cin, cout] -> [cout, cin, kh, kw]
DEPTHWISE = (2, 3, 0, 1)  # [kh, kw, cin, 1] -> [cin, 1, kh, kw]
TRANSPOSED = (3, 2, 0, 1)  # [kh, kw, cout, cin] -> [cin, cout, kh, kw] (no flip: ONNX and PyTorch agree)


def conv_modules(block: torch.nn.Module, separable: bool):
    """The (depthwise, pointwise) or (conv,) modules of one conv3 of bench_torch.py."""
    return (block[0], block[1]) if separable else (block[0],)


def load(model: UNet, manifest: dict, data: np.ndarray) -> int:
    """Copy every tfjs layer's weights into `model`; returns the number of values copied."""
    sep, levels, copied = manifest["separable"], len(manifest["filters"]) - 1, 0

    def module_of(name: str):
        if name == "mask":
            return ("plain", (model.head,))
        if name.startswith("up"):
            return ("transposed", (model.ups[levels - int(name[2:])],))
        stage, part = name.rsplit("_", 1)
        j = "ab".index(part)
        if stage == "bottleneck":
            return ("conv3", conv_modules(model.bottleneck[j], sep))
        if stage.startswith("down"):
            return ("conv3", conv_modules(model.down[int(stage[4:]) - 1][j], sep))
        if stage.startswith("dec"):
            return ("conv3", conv_modules(model.dec[levels - int(stage[3:])][j], sep))
        raise ValueError(f'torch_onnx: no PyTorch module for tfjs layer "{name}"')

    for layer in manifest["layers"]:
        ws = [data[w["offset"]:w["offset"] + int(np.prod(w["shape"]))].reshape(w["shape"]) for w in layer["weights"]]
        if not ws:
            continue
        kind, mods = module_of(layer["name"])
        if kind == "transposed":
            tensors = [(mods[0].weight, ws[0].transpose(TRANSPOSED)), (mods[0].bias, ws[1])]
        elif layer["class"] == "SeparableConv2D":
            tensors = [(mods[0].weight, ws[0].transpose(DEPTHWISE)), (mods[1].weight, ws[1].transpose(CONV)),
                       (mods[1].bias, ws[2])]
        else:
            tensors = [(mods[0].weight, ws[0].transpose(CONV)), (mods[0].bias, ws[1])]
        for param, value in tensors:
            if tuple(param.shape) != value.shape:
                raise ValueError(f'torch_onnx: layer "{layer["name"]}": {value.shape} for a {tuple(param.shape)} weight')
            with torch.no_grad():
                param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
            copied += value.size
    return copied


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()
    manifest = json.load(open(a.weights))
    data = np.fromfile(os.path.join(os.path.dirname(a.weights), manifest["bin"]), dtype=np.float32)
    model = UNet(manifest["separable"], tuple(manifest["filters"])).eval()
    copied = load(model, manifest, data)
    params = sum(p.numel() for p in model.parameters())
    if copied != params:
        raise ValueError(f"torch_onnx: copied {copied} values into {params} parameters")
    x = torch.rand(1, 3, a.size, a.size)
    torch.onnx.export(model, x, a.out, input_names=["input"], output_names=["output"], opset_version=a.opset,
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, do_constant_folding=True)
    print(json.dumps({"torch": torch.__version__, "opset": a.opset, "params": params, "out": a.out}))


if __name__ == "__main__":
    main()

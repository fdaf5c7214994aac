"""PyTorch reference for bench_train.ts (training, Adam) and bench_infer.ts (--infer: batch-1
inference latency): the same classifier or U-Net (BCE + Dice); prints JSON last."""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn

CHANNELS = {"teacher": (32, 64, 128, 0.2), "medium": (24, 48, 96, 0.1), "small": (8, 16, 32, 0.0)}


def build(name: str) -> nn.Module:
    *chs, drop = CHANNELS[name]
    layers, cin = [], 3
    for c in chs:
        layers += [nn.Conv2d(cin, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
        cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if drop > 0:
        layers.append(nn.Dropout(drop))
    layers.append(nn.Linear(cin, 2))
    return nn.Sequential(*layers)


UNETS = {"unet_standard": False, "unet_depthwise": True}


def conv3(cin: int, cout: int, separable: bool) -> nn.Module:
    if separable:
        return nn.Sequential(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1), nn.ReLU())
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    """pipeline/models/unet.ts in PyTorch: 32-64-128-256, two 3x3 convs a level, 2x2 transposed convs, skips."""

    def __init__(self, separable: bool, filters=(32, 64, 128, 256)):
        super().__init__()
        self.down, cin = nn.ModuleList(), 3
        for f in filters[:-1]:
            self.down.append(nn.Sequential(conv3(cin, f, separable), conv3(f, f, separable)))
            cin = f
        self.bottleneck = nn.Sequential(conv3(cin, filters[-1], separable), conv3(filters[-1], filters[-1], separable))
        self.ups, self.dec, cin = nn.ModuleList(), nn.ModuleList(), filters[-1]
        for f in reversed(filters[:-1]):
            self.ups.append(nn.ConvTranspose2d(cin, f, 2, stride=2))
            self.dec.append(nn.Sequential(conv3(2 * f, f, separable), conv3(f, f, separable)))
            cin = f
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.ups, self.dec, reversed(skips)):
            x = dec(torch.cat([up(x), skip], 1))
        return torch.sigmoid(self.head(x))


def bce_dice(p, t):
    dice = (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return nn.functional.binary_cross_entropy(p, t) + 1 - dice


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="teacher")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--infer", action="store_true", help="batch-1 inference latency instead of training")
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.infer:
        infer(a)
        return
    unet = a.model in UNETS
    model = (UNet(UNETS[a.model]) if unet else build(a.model)).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 3, a.size, a.size)
    y = (torch.rand(a.batch, 1, a.size, a.size) > 0.6).float() if unet else torch.arange(a.batch) % 2
    loss_fn = bce_dice if unet else nn.functional.cross_entropy
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        ms = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            times.append(ms)
        print(f"{'warmup' if i < a.warmup else f'step {i - a.warmup + 1}/{a.steps}'}: {ms:.0f} ms, loss {loss.item():.4f}")
    med = statistics.median(times)
    print(json.dumps({"model": a.model, "batch": a.batch, "size": a.size, "steps": a.steps, "threads": a.threads,
                      "torch": torch.__version__, "img_per_s": round(a.batch / med * 1000, 2),
                      "step_ms_median": round(med, 1)}))


def infer(a: argparse.Namespace) -> None:
    model = (UNet(UNETS[a.model]) if a.model in UNETS else build(a.model)).eval()
    x = torch.rand(1, 3, a.size, a.size)
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            model(x)
            if i >= a.warmup:
                times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    mean = statistics.fmean(times)
    print(json.dumps({"model": a.model, "size": a.size, "runs": a.runs, "threads": a.threads, "torch": torch.__version__,
                      "latency_ms_mean": round(mean, 3), "latency_ms_p50": round(statistics.median(times), 3),
                      "latency_ms_p90": round(times[int(0.9 * (len(times) - 1))], 3)}))


if __name__ == "__main__":
    main()

"""Benchmark 4, gpu: training images/s of alexnet, vgg16 and resnet50 at 224 px, tunebench's training step vs
plain fp32 eager PyTorch fed by ImageFolder + DataLoader.

tunebench: the decoded-image cache (batches gathered from the memory map, pinned, copied non-blocking, augmented
and normalised on the GPU), bf16 autocast, channels_last, cuDNN autotuning, and torch.compile with --compile:
train.train_one_epoch, the step every trial runs. Baseline: the loop a researcher writes by hand, the same model,
optimiser and transforms. Both train from random weights; the first --warmup steps are not timed. For reference,
NVIDIA's published ResNet-50 mixed-precision training figure on one A100 is about 2,470 images/s.

    python benchmarks/gpu.py                         # CUDA only; Caltech101 from ../shared/data, else generated JPEGs
    python benchmarks/gpu.py --device cpu --models alexnet --steps 2 --warmup 1 --batch-size 8   # does it run
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.data import CALTECH, imagefolder_loader  # noqa: E402
from benchmarks._common import machine  # noqa: E402
from tunebench.acceleration import Acceleration  # noqa: E402
from tunebench.data import build_dataset  # noqa: E402
from tunebench.data.batches import make_batches  # noqa: E402
from tunebench.models import build_model  # noqa: E402
from tunebench.settings import AccelSettings, DataSettings, OptimSettings  # noqa: E402
from tunebench.train import Objective, build_optimizer, train_one_epoch  # noqa: E402


def generated_caltech(root: Path, classes: int = 10, per_class: int = 60) -> Path:
    """A Caltech101-layout tree of random-content JPEGs of Caltech's typical size (no dataset on the machine)."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / "101_ObjectCategories" / f"class_{c:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"image_{i:04d}.jpg", quality=90)
    return root


def _endless(loader):
    while True:
        yield from loader


def timed_rate(step_batches, steps: int, warmup: int, device: torch.device) -> float:
    """Images/s of `steps` training steps after `warmup` untimed ones; step_batches(n) trains on n batches and
    returns the images it saw."""
    step_batches(warmup)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    images = step_batches(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


def plain_rate(name: str, splits, data: DataSettings, device, steps: int, warmup: int, workers: int) -> float:
    model = build_model(name, splits.num_classes, weights="none").to(device)
    optimizer = build_optimizer(model, OptimSettings(lr=0.01))
    criterion = torch.nn.CrossEntropyLoss()
    batches = _endless(imagefolder_loader(data, splits, workers))
    model.train()

    def step_batches(n: int) -> int:
        seen = 0
        for images, labels in itertools.islice(batches, n):
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            seen += len(labels)
        return seen

    return timed_rate(step_batches, steps, warmup, device)


def tunebench_rate(name: str, splits, data: DataSettings, device, steps: int, warmup: int, compile: bool) -> float:
    accel = Acceleration.of(AccelSettings(compile=compile).on(device.type == "cuda"), device)
    model = build_model(name, splits.num_classes, weights="none").to(device)
    optimizer = build_optimizer(model, OptimSettings(lr=0.01))
    net, objective = accel.prepare(model), Objective()
    batches = _endless(make_batches(data, splits, "train", train=True, seed=0, device=device))

    def step_batches(n: int) -> int:
        return train_one_epoch(net, itertools.islice(batches, n), objective, optimizer, device, accel)["train_images"]

    return timed_rate(step_batches, steps, warmup, device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a Caltech101 folder (default: ../shared/data/caltech101, "
                                                      "else generated JPEGs)")
    parser.add_argument("--models", nargs="+", default=["alexnet", "vgg16", "resnet50"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--augment", default="flip_rotate_perspective")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="baseline DataLoader workers")
    parser.add_argument("--compile", action="store_true", help="also time tunebench with torch.compile")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu: no CUDA device here; nothing to measure (run it on a GPU machine; --device cpu checks it runs)")
        return 0
    with tempfile.TemporaryDirectory(prefix="tunebench-gpu-") as scratch:
        os.environ.setdefault("TUNEBENCH_CACHE", str(Path(scratch) / "cache"))
        data_dir = args.data_dir or (CALTECH if CALTECH.is_dir() else generated_caltech(Path(scratch) / "caltech"))
        splits = build_dataset("caltech101", data_dir)
        config = DataSettings(image_size=224, normalize="scratch", augment=args.augment, batch_size=args.batch_size)
        print(f"gpu: {machine()}")
        print(f"{data_dir}: {len(splits.train)} training images, 224 px, batch {args.batch_size}, augment "
              f"{args.augment}, {args.warmup} warm-up + {args.steps} timed steps; baseline: fp32 eager, "
              f"ImageFolder + DataLoader with {args.workers} workers")
        make_batches(config, splits, "train", train=True, seed=0, device=device)  # build the cache before timing
        for name in args.models:
            base = plain_rate(name, splits, config, device, args.steps, args.warmup, args.workers)
            rates = {"tunebench (bf16, channels_last)" if device.type == "cuda" else "tunebench":
                     tunebench_rate(name, splits, config, device, args.steps, args.warmup, compile=False)}
            if args.compile:
                rates["tunebench + torch.compile"] = tunebench_rate(name, splits, config, device, args.steps,
                                                                    args.warmup, compile=True)
            print(f"{name:9s} plain fp32 eager + DataLoader {base:7.0f} images/s")
            for label, rate in rates.items():
                print(f"{name:9s} {label:31s} {rate:7.0f} images/s  {rate / base:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

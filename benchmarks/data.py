"""Benchmark 1, data: training-loop images/s of the decoded-image cache vs ImageFolder + DataLoader.

Both sides run the loop a trial's epoch runs, minus the model: take every batch of the training split, put it on
the device as normalised float32 (augmented when --augment says so). The baseline is torchvision's ImageFolder
with the trial's own transform (the same transforms and worker count); tunebench's `--data-pipeline naive`
(the same, with JPEG draft decoding) is timed too. The cached pipeline's first epoch builds the cache (decode
once) and is reported apart from the later ones, which read it. On CPU its batches are converted, augmented and
normalised by a producer thread ahead of the loop, as in a trial; with no model to train here, the loop just
waits for them, so the figure is the pipeline's throughput (benchmarks/data_wait.py measures the overlap).

    python benchmarks/data.py                      # real Caltech101 in ../shared/data/caltech101, 224 px
    python benchmarks/data.py --limit-per-class 10 --epochs 2    # a quick look
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from torchvision.datasets import ImageFolder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import machine  # noqa: E402
from tunebench.data import build_dataset  # noqa: E402
from tunebench.data.batches import make_batches  # noqa: E402
from tunebench.data.transforms import transform_for  # noqa: E402
from tunebench.settings import DataSettings  # noqa: E402

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "caltech101"


def imagefolder_loader(data: DataSettings, splits, workers: int) -> torch.utils.data.DataLoader:
    """torchvision's ImageFolder over the same training files, with the trial's transform."""
    train_files = {path for path, _ in splits.train}
    folder = ImageFolder(str(Path(next(iter(train_files))).parents[1]), transform=transform_for(data, train=True),
                         is_valid_file=lambda path: path in train_files, allow_empty=True)
    return torch.utils.data.DataLoader(folder, batch_size=data.batch_size, shuffle=True, num_workers=workers,
                                       persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())


def epoch_rate(make_loader, device: torch.device) -> float:
    """Images per second of one epoch: get the loader (the cached pipeline opens or builds its cache here), then
    put every batch on the device as float32."""
    start, seen = time.perf_counter(), 0
    for images, labels in make_loader():
        images = images.to(device, non_blocking=True)
        labels.to(device, non_blocking=True)
        seen += len(images)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=CALTECH)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per pipeline (the cache's first builds it)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="DataLoader workers (default: cores)")
    parser.add_argument("--augment", nargs="+", default=["none", "flip_rotate_perspective"])
    parser.add_argument("--limit-per-class", type=int)
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    splits = build_dataset("caltech101", args.data_dir, limit_per_class=args.limit_per_class)
    print(f"data: {machine()}; device {device}")
    print(f"caltech101 train split: {len(splits.train)} images at {args.image_size} px, batch {args.batch_size}, "
          f"{args.workers} DataLoader workers, {args.epochs} epochs each")
    headline = []
    for augment in args.augment:
        data = DataSettings(image_size=args.image_size, normalize="scratch", augment=augment,
                            batch_size=args.batch_size, workers=args.workers)
        baseline = imagefolder_loader(data, splits, args.workers)
        naive = make_batches(replace(data, data_pipeline="naive"), splits, "train", train=True, seed=0, device=device)
        rates = {"ImageFolder + DataLoader": [epoch_rate(lambda: baseline, device) for _ in range(args.epochs)],
                 "tunebench naive": [epoch_rate(lambda: naive, device) for _ in range(args.epochs)]}
        with tempfile.TemporaryDirectory(prefix="tunebench-cache-") as cache:
            os.environ["TUNEBENCH_CACHE"] = cache  # a cold cache: the first epoch builds it
            cached = [epoch_rate(lambda: make_batches(data, splits, "train", train=True, seed=0, device=device),
                                 device) for _ in range(args.epochs)]
        rates["cached, first epoch (builds the cache)"] = cached[:1]
        rates["cached, later epochs"] = cached[1:]
        base = statistics.median(rates["ImageFolder + DataLoader"])
        print(f"\naugment={augment}")
        for name, values in rates.items():
            median = statistics.median(values)
            print(f"  {name:40s} {median:8.0f} images/s  {median / base:5.2f}x   "
                  f"(epochs: {', '.join(f'{v:.0f}' for v in values)})")
        headline.append((augment, statistics.median(cached[1:]) / base, cached[0] / base))
    for augment, later, first in headline:
        print(f"data: cached later epochs {later:.1f}x ImageFolder + DataLoader (target >= 5x), "
              f"first epoch {first:.1f}x [augment={augment}, {args.image_size} px]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

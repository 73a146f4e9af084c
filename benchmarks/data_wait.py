"""Data wait of a training epoch: the share of an augmented AlexNet epoch on CPU spent waiting for batches.

`data_wait_frac` is what `train.fit` reports: seconds the training loop waited for its next batch over the
epoch's training seconds. It is measured here on the real Caltech101 (`../shared/data/caltech101`, its training
split from the decoded-image cache) at 224 px with the report's flip/rotate/perspective augmentation, training
tunebench's AlexNet (`train.train_one_epoch`, SGD), the first `batches` batches of an epoch, in the same run:
- before: each batch prepared on the training thread when the loop asks for it (`CachedBatches(prefetch=0)`, what
  tunebench did before, though with today's cheaper warp);
- after: prepared by a producer thread, one batch ready ahead of the loop (`prefetch=1`, the default).
The two alternate, `rounds` times each, after one warm-up batch of each; each side's figure is its total wait over
its total training time. Each side's first batch is prepared before its training starts, as an epoch's is, but
here once every `batches`: the "after" figure is a little high. Training images/s are printed too; a few dozen
batches on a shared machine make them too noisy to compare the sides by.

    python benchmarks/data_wait.py                 # 2 rounds of 6 batches of 64 each side: 1-4 min
    python benchmarks/data_wait.py --batches 4 --rounds 1 --image-size 64 --limit-per-class 5   # a quick look

`measure(...)` returns the figures as a dict, for other scripts (benchmarks/scale.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import machine  # noqa: E402
from tunebench.data import build_dataset  # noqa: E402
from tunebench.data.batches import PREFETCH, make_batches  # noqa: E402
from tunebench.models import build_model  # noqa: E402
from tunebench.settings import DataSettings, FitSettings, OptimSettings  # noqa: E402
from tunebench.train import Objective, TrainingState, train_one_epoch  # noqa: E402

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "caltech101"
CPU = torch.device("cpu")


class FirstBatches:
    """The first `count` batches of an epoch of `batches`; the epoch's iterator is closed after them (a
    prefetching one stops its producer thread)."""

    def __init__(self, batches, count: int) -> None:
        self.batches, self.count = batches, count

    def __len__(self) -> int:
        return min(self.count, len(self.batches))

    def __iter__(self):
        with closing(iter(self.batches)) as epoch:
            for _, batch in zip(range(self.count), epoch):
                yield batch


def _train(state: TrainingState, batches, count: int, objective: Objective, label: str) -> tuple[float, float, int]:
    """(seconds waited for batches, training seconds, images) of `count` training batches."""
    start = time.perf_counter()
    metrics = train_one_epoch(state.model, FirstBatches(batches, count), objective, state.optimizer, CPU,
                              label=f"data_wait {label}")
    return metrics["data_wait_s"], time.perf_counter() - start, metrics["train_images"]


def measure(batches: int = 6, rounds: int = 2, *, data_dir: Path = CALTECH, image_size: int = 224,
            batch_size: int = 64, augment: str = "flip_rotate_perspective", model: str = "alexnet",
            limit_per_class: int | None = None, seed: int = 0) -> dict:
    """data_wait_frac of `model`'s training on the caltech101 training split without (before) and with (after)
    the producer thread preparing batches ahead, each side `rounds` x `batches` batches, alternating; and each side's
    training images/s. Builds the split's cache when it is not there yet (not timed)."""
    splits = build_dataset("caltech101", data_dir, limit_per_class=limit_per_class)
    data = DataSettings(image_size=image_size, normalize="scratch", augment=augment, batch_size=batch_size)
    sides = {"before": 0, "after": PREFETCH}
    loaders = {side: make_batches(data, splits, "train", train=True, seed=seed, device=CPU) for side in sides}
    for side, depth in sides.items():
        loaders[side].prefetch = depth
    torch.manual_seed(seed)
    state = TrainingState.create(build_model(model, splits.num_classes), OptimSettings(lr=0.01, momentum=0.9),
                                 FitSettings())
    objective = Objective()
    for side in sides:  # warm-up: the model's first steps allocate its buffers
        _train(state, loaders[side], 1, objective, side)
    totals = {side: [0.0, 0.0, 0] for side in sides}
    for _ in range(rounds):
        for side in sides:
            for i, value in enumerate(_train(state, loaders[side], batches, objective, side)):
                totals[side][i] += value
    result = {f"data_wait_frac_{side}": waited / seconds for side, (waited, seconds, _) in totals.items()}
    result.update({f"images_per_s_{side}": images / seconds for side, (_, seconds, images) in totals.items()})
    result.update(batches=batches * rounds, batch_size=batch_size, image_size=image_size, model=model,
                  augment=augment, train_images=len(splits.train))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=CALTECH)
    parser.add_argument("--batches", type=int, default=6, help="timed batches per side and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--augment", default="flip_rotate_perspective")
    parser.add_argument("--limit-per-class", type=int)
    args = parser.parse_args(argv)
    print(f"data_wait: {machine()}")
    r = measure(args.batches, args.rounds, data_dir=args.data_dir, image_size=args.image_size,
                batch_size=args.batch_size, augment=args.augment, limit_per_class=args.limit_per_class)
    print(f"{r['model']} on caltech101 ({r['train_images']} training images), {r['image_size']} px, batch "
          f"{r['batch_size']}, augment={r['augment']}, {r['batches']} timed batches per side")
    for side, what in (("before", "prepared on the training thread"), ("after", "prepared ahead by a producer thread")):
        print(f"  {side:6s} ({what:35s}) data_wait_frac {r[f'data_wait_frac_{side}']:6.1%}   "
              f"{r[f'images_per_s_{side}']:6.1f} training images/s")
    ratio = r["data_wait_frac_before"] / max(r["data_wait_frac_after"], 1e-9)
    print(f"data_wait: data_wait_frac {r['data_wait_frac_after']:.1%} (target < 10%), was "
          f"{r['data_wait_frac_before']:.1%} on the training thread ({ratio:.1f}x less) [{r['model']}, "
          f"{r['image_size']} px, augment={r['augment']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

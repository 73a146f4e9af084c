"""Benchmark 5, image check: what a search spends finding unreadable images before it starts.

Before issue 15 every search decoded every image of the dataset once (8,677 for Caltech101), --smoke too, which then
used 1,212 of them. Now --smoke checks only the images it uses, and every check is remembered by path, size and
modification time in $TUNEBENCH_CACHE, so a repeated search checks only new or changed files. The baseline is the
full check with nothing remembered (what every search paid before); each case is timed in-process on the real data,
the median of --repeats runs, each with its own cache folder (a first run) or the one the previous run filled
(a repeated run).

    python benchmarks/image_check.py              # real Caltech101 in ../shared/data/caltech101
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import machine  # noqa: E402
from tunebench import console  # noqa: E402
from tunebench.data import build_dataset  # noqa: E402

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "caltech101"
SMOKE_LIMIT = 4  # alexnet-caltech's --smoke limit_per_class


def timed(data_dir: Path, cache: Path, limit: int | None) -> float:
    os.environ["TUNEBENCH_CACHE"] = str(cache)
    start = time.perf_counter()
    build_dataset("caltech101", data_dir, limit_per_class=limit)
    return time.perf_counter() - start


def median_of(repeats: int, data_dir: Path, limit: int | None, warm: bool) -> float:
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            if warm:
                timed(data_dir, Path(cache), limit)  # the first search fills the memory
            runs.append(timed(data_dir, Path(cache), limit))
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=CALTECH)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    console.set_verbosity(console.QUIET)
    print(machine())
    baseline = median_of(args.repeats, args.data_dir, None, warm=False)
    cases = {"--smoke, first run": (SMOKE_LIMIT, False), "--smoke, repeated": (SMOKE_LIMIT, True),
             "full, repeated": (None, True)}
    print(f"{'full, first run (baseline: every image decoded)':<50} {baseline:6.2f} s  1.00x")
    for name, (limit, warm) in cases.items():
        seconds = median_of(args.repeats, args.data_dir, limit, warm)
        print(f"{name:<50} {seconds:6.2f} s  {baseline / seconds:5.1f}x faster")


if __name__ == "__main__":
    main()

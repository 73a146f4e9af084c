"""`tunebench prefetch`: a benchmark's dataset and every ImageNet checkpoint its searches can load, fetched once
on a machine with internet, for nodes without."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tunebench.benchmark import Benchmark
from tunebench.search.methods import SEARCHES
from tunebench.search.options import SearchOptions
from tunebench.search.plan import plan_search


def prefetch(benchmark: Benchmark, data_dir: Path, say: Callable[[str], None] = print) -> list[str]:
    """Download the benchmark's dataset into data_dir and every ImageNet checkpoint its searches can load into
    torch's cache ($TORCH_HOME); returns the weights fetched."""
    from tunebench.data import build_dataset
    from tunebench.models import fetch_weights

    splits = build_dataset(benchmark.dataset, data_dir, download=True, progress=say)
    say(f"{benchmark.dataset} in {data_dir}: {splits.num_classes} classes, {splits.sizes()}")
    methods = [m for m in SEARCHES.values() if benchmark.grid or not m.report_values]
    plans = [plan_search(benchmark, SearchOptions(data_dir=data_dir, search=m.name)) for m in methods]
    sources = sorted({source for plan in plans for source in plan.weight_sources()})
    for source in sources:
        fetch_weights(source)
        say(f"ImageNet weights of {source}: cached")
    return sources

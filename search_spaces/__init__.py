"""The registry of shipped benchmarks: an explicit dict keyed by CLI name (no import-order magic)."""

from __future__ import annotations

from pathlib import Path

from search_spaces import (alexnet_caltech, cnn_catsdogs, cnn_cifar10, featx_cifar5, inception_cifar10,
                           resnet50_artworks, resnet50_caltech, transfer_catsdogs, vgg16_caltech)
from dataclasses import replace

from search_spaces.studies import STUDIES
from tunebench import TunebenchError
from tunebench.benchmark import Benchmark, load_benchmark_file
from tunebench.study import references

_MODULES = (alexnet_caltech, resnet50_caltech, vgg16_caltech, resnet50_artworks, cnn_cifar10, inception_cifar10,
            cnn_catsdogs, transfer_catsdogs, featx_cifar5)
BENCHMARKS: dict[str, Benchmark] = {module.BENCHMARK.name: module.BENCHMARK for module in _MODULES}
# the reports' figures, each tied to the configuration behind it, come from the studies' rows (declared once)
_FOUND = [references(study, BENCHMARKS) for study in STUDIES.values()]
BENCHMARKS = {name: replace(b, reference=tuple(r for found in _FOUND for r in found.get(name, ())))
              for name, b in BENCHMARKS.items()}
# each module's docstring: what the report did and where the PyTorch version differs (tunebench show prints it)
NOTES: dict[str, str] = {module.BENCHMARK.name: (module.__doc__ or "").strip() for module in _MODULES}


def get_benchmark(name_or_path: str) -> Benchmark:
    """A shipped benchmark by name, or a user's search-space module by path (`my_space.py`)."""
    if name_or_path in BENCHMARKS:
        return BENCHMARKS[name_or_path]
    if name_or_path.endswith(".py") or Path(name_or_path).is_file():
        from tunebench.hparams import check_benchmark

        benchmark = load_benchmark_file(name_or_path)
        check_benchmark(benchmark, name_or_path)
        return benchmark
    raise TunebenchError(
        f"unknown benchmark '{name_or_path}' (known: {', '.join(sorted(BENCHMARKS))}; or a path to a .py file)")


def list_benchmarks() -> list[Benchmark]:
    return [BENCHMARKS[name] for name in sorted(BENCHMARKS)]

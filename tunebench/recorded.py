"""Which benchmark a name given to `tunebench compare` / `report` means: a shipped benchmark, a search-space file,
or (neither) a search recorded in the tracking store under that name: a user's search-space file names its MLflow
experiment, and `report` rebuilds what it needs from the search's parent run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from search_spaces import BENCHMARKS, get_benchmark
from tunebench import TunebenchError
from tunebench.benchmark import Benchmark
from tunebench.reports import parse_param, run_tag
from tunebench.study_report import find_search
from tunebench.tracking import Tag, Tracker
from tunebench.trials import BEST_OF


def _shipped_or_file(name: str) -> bool:
    """Whether get_benchmark reads `name`: a shipped benchmark, or a search-space .py file."""
    return name in BENCHMARKS or name.endswith(".py") or Path(name).is_file()


def _unknown_name(name: str, tracker: Tracker) -> TunebenchError:
    recorded = sorted(e.name for e in tracker.client.search_experiments()
                      if e.name not in BENCHMARKS and e.name != "Default" and not e.name.startswith("study "))
    return TunebenchError(f"unknown benchmark '{name}': no shipped benchmark, search-space file or search in "
                          f"{tracker.uri} has that name (known: {', '.join(sorted(BENCHMARKS))}"
                          f"{'; searches in the store: ' + ', '.join(recorded) if recorded else ''})")


def recorded_name(name: str, tracker: Tracker) -> str:
    """The benchmark name of `compare`/`report`'s NAME: a shipped benchmark's, a search-space file's, or (neither)
    the name of a search's MLflow experiment in the store: a user's search-space file names its experiment."""
    if _shipped_or_file(name):
        return get_benchmark(name).name
    if tracker.client.get_experiment_by_name(name) is None:
        raise _unknown_name(name, tracker)
    return name


def report_benchmark(name: str, search: str, tracker: Tracker) -> Benchmark:
    """The Benchmark `tunebench report NAME` writes about. A shipped benchmark or a search-space file, without the
    report's figures when the search ran on another dataset (`search --dataset folder`); else one rebuilt from the
    search's parent run (its experiment's name, the dataset, metric, mode and seed report it recorded)."""
    shipped = _shipped_or_file(name)
    benchmark = get_benchmark(name) if shipped else Benchmark(recorded_name(name, tracker), "", "", "", 1, {}, {})
    parent, _ = find_search(tracker, benchmark, search)
    dataset = run_tag(parent, Tag.DATASET)
    if shipped:
        metric, mode = _recorded_metric(parent, benchmark.metric, benchmark.mode)
        return replace(benchmark.on_dataset(dataset or None), metric=metric, mode=mode)
    epochs = parse_param(parent.get("params.epochs"))
    metric, mode = _recorded_metric(parent, "val_acc", "max")
    return Benchmark(name=name, seed_report=run_tag(parent, Tag.SEED_REPORT) or "", dataset=dataset or "",
                     model=str(parse_param(parent.get("params.model")) or ""),
                     max_epochs=epochs if isinstance(epochs, int) and epochs >= 1 else 1, defaults={}, space={},
                     metric=metric, mode=mode)


def _recorded_metric(parent, metric: str, mode: str) -> tuple[str, str]:
    """The metric and mode the search ranked its trials by (its tags: the benchmark's, or the first --objective),
    where the report can rank by it: a trial run keeps a best value of the BEST_OF metrics only. Else the given."""
    recorded, way = run_tag(parent, Tag.METRIC), run_tag(parent, Tag.MODE)
    return (recorded, way) if recorded in BEST_OF and way in ("min", "max") else (metric, mode)

"""Benchmark 3, "search": how much of the report's grid ASHA + TPE (and coordinate search) need.

On a benchmark cheap enough to run the report's full grid at smoke scale on this machine (cnn-catsdogs: variant
x color x augment = 12 configurations, real images in ../shared/data/dogs-vs-cats), for each seed:

  1. `tunebench search --search grid` (FIFO): the baseline. Its total epochs (configurations x epochs) are the
     denominator, and its best validation accuracy over every epoch of every trial sets the target:
     target = grid best - tolerance (1 point).
  2. `tunebench search --search optuna --scheduler asha --num-samples K`: TPE over exactly the grid's values
     (every other key of the benchmark's Optuna space is fixed at its default with --set, the grid keys are
     given as comma lists, which become Optuna choices).
  3. `tunebench search --search coordinate`: the report's "keep the best, search the next".

Every epoch a search ran is read back from the MLflow store (the val_acc history of each trial run, with the
driver's timestamps) and walked in completion-time order across all its trials: the search's cost is the number
of epochs completed up to and including the first epoch whose val_acc >= target; fraction = cost / grid's
total epochs. A search that never reaches the target is charged all its epochs and flagged. For context the
script also prints the coarser trial-level count (tunebench.reports.best_so_far_frame: a trial's epochs count
only when the trial ends), the grid's own fraction in its fixed order, and each search's wall time.

All three searches of a seed run with the same settings (--set), the same seed, their own --name, a temporary
--storage-path and one temporary sqlite MLflow store. The target is ASHA + TPE <= 0.30 of the grid's epochs.

    .venv/bin/python benchmarks/search_efficiency.py [--seeds 0 1 2] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import SHARED, fmt_seconds, machine, ratio_line, run_logged, venv_tool  # noqa: E402
from tunebench.tracking import Tag  # noqa: E402

METRIC = "val_acc"
SEARCHES = {  # label -> extra CLI arguments
    "grid": ["--search", "grid"],
    "ASHA+TPE": ["--search", "optuna", "--scheduler", "asha"],
    "coordinate": ["--search", "coordinate"],
}


@dataclass
class Epoch:
    timestamp: int     # ms, when the driver logged the epoch's result
    trial: str
    step: int
    value: float


@dataclass
class SearchResult:
    label: str
    seed: int
    name: str
    wall_s: float
    trials: int = 0
    distinct_configs: int = 0
    failed_trials: int = 0
    epochs: list[Epoch] = field(default_factory=list)   # in completion-time order
    trial_level: object = None                           # reports.best_so_far_frame
    stopped_early: int = 0
    config_of: dict[str, str] = field(default_factory=dict)  # trial run id -> "base/rgb/none"
    repeats: set[str] = field(default_factory=set)           # trial runs of a configuration an earlier trial ran

    @property
    def repeat_epochs(self) -> int:
        """Epochs spent re-running a configuration (training is deterministic per configuration and seed)."""
        return sum(e.trial in self.repeats for e in self.epochs)

    def cells_at(self, target: float) -> list[str]:
        """Every (configuration, epoch) whose val_acc reached the target: "wide/rgb/none@5"."""
        return [f"{self.config_of.get(e.trial, e.trial)}@{e.step}" for e in self.epochs if e.value >= target - 1e-9]

    @property
    def total_epochs(self) -> int:
        return len(self.epochs)

    @property
    def best(self) -> float:
        return max((e.value for e in self.epochs), default=float("nan"))

    def epochs_to(self, target: float) -> int | None:
        """Epochs completed (all trials, completion-time order) up to the first with val_acc >= target."""
        for count, epoch in enumerate(self.epochs, start=1):
            if epoch.value >= target - 1e-9:
                return count
        return None

    def trial_epochs_to(self, target: float) -> int | None:
        """The coarser count: trials in order of completion, a trial's epochs counted when it ends."""
        frame = self.trial_level
        if frame is None or frame.empty:
            return None
        hit = frame[frame["best"] >= target - 1e-9]
        return int(hit["cumulative_epochs"].iloc[0]) if len(hit) else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--quick", action="store_true",
                   help="one seed (the first of --seeds), fewer epochs and images: a fast check of the script")
    p.add_argument("--benchmark", default="cnn-catsdogs")
    p.add_argument("--data-dir", type=Path, default=SHARED / "data" / "dogs-vs-cats")
    p.add_argument("--epochs", type=int, help="epochs per trial (default 5; --quick 3)")
    p.add_argument("--num-samples", type=int,
                   help="ASHA+TPE trials (default: the grid's size, so it may run as many trials as the grid)")
    p.add_argument("--image-size", type=int, help="image side in pixels (default 32)")
    p.add_argument("--limit-per-class", help="at most this many images per class and split (default 250: 500 "
                                            "train, the whole 240-image val split; --quick 150)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--split", default="64/16/20", help="64/16/20 (default: the larger val split) or 80/10/10")
    p.add_argument("--tolerance", type=float, default=0.01, help="target = grid best val_acc - tolerance")
    p.add_argument("--goal", type=float, default=0.30, help="the target fraction for ASHA+TPE")
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--work-dir", type=Path, help="keep storage, logs and the MLflow store here (default: a temp "
                                                 "folder, deleted at the end)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds[:1]
        args.epochs = args.epochs or 3
        args.limit_per_class = args.limit_per_class or "150"
    args.epochs = args.epochs or 5
    args.image_size = args.image_size or 32
    args.limit_per_class = args.limit_per_class or "250"
    return args


def search_settings(benchmark, args) -> list[str]:
    """--set for every search: the grid keys as comma lists, every other key of the Optuna space fixed at its
    default (TPE then searches exactly the grid's values), and the smoke-scale settings."""
    def text(value) -> str:
        return "none" if value is None else str(value)

    sets = [f"{key}={','.join(text(v) for v in values)}" for key, values in benchmark.grid.items()]
    sets += [f"{key}={text(benchmark.defaults[key])}" for key in benchmark.space if key not in benchmark.grid]
    sets += ["executions=1", f"image_size={args.image_size}", f"limit_per_class={args.limit_per_class}",
             f"batch_size={args.batch_size}", f"split={args.split}"]
    return sets


def grid_size(benchmark) -> int:
    size = 1
    for values in benchmark.grid.values():
        size *= len(values)
    return size


def read_search(tracking_uri: str, experiment: str, result: SearchResult, keys: list[str]) -> SearchResult:
    """Fill `result` from the MLflow store: its trial runs, every epoch's val_acc with its timestamp."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from tunebench.reports import best_so_far_frame, trials_frame

    client = MlflowClient(tracking_uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    parents = client.search_runs([experiment_id], filter_string=f"tags.mlflow.runName = '{result.name}'")
    if not parents:
        raise RuntimeError(f"no MLflow run named {result.name} in {tracking_uri}")
    parent = parents[0].info.run_id
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs([experiment_id], filter_string=f"tags.`{Tag.PARENT}` = '{parent}'", max_results=5000)
    result.trials = len(runs)
    result.failed_trials = int((runs["status"] == "FAILED").sum()) if len(runs) else 0
    configs = runs[[f"params.{k}" for k in keys if f"params.{k}" in runs]]
    result.distinct_configs = len(configs.drop_duplicates()) if len(runs) else 0
    result.config_of = {run_id: "/".join(str(v) for v in row)
                        for run_id, row in zip(runs["run_id"], configs.itertuples(index=False))}
    seen_configs: set[str] = set()
    for run_id in runs.sort_values("start_time")["run_id"]:
        if result.config_of[run_id] in seen_configs:
            result.repeats.add(run_id)
        seen_configs.add(result.config_of[run_id])
    if "tags.outcome" in runs:
        result.stopped_early = int(runs["tags.outcome"].isin(["stopped by scheduler", "early-stopped"]).sum())
    epochs = []
    for run_id in runs["run_id"]:
        seen = set()
        for m in sorted(client.get_metric_history(run_id, METRIC), key=lambda m: (m.timestamp, m.step)):
            if m.step not in seen:  # a resumed trial may log a step twice; it ran once
                seen.add(m.step)
                epochs.append(Epoch(m.timestamp, run_id, m.step, m.value))
    result.epochs = sorted(epochs, key=lambda e: (e.timestamp, e.step, e.trial))
    if len(runs):
        result.trial_level = best_so_far_frame(trials_frame(runs, []), METRIC, "max")
    return result


def run_search(label: str, seed: int, args, sets: list[str], work: Path, tracking_uri: str) -> SearchResult:
    name = f"se-{label.lower().replace('+', '-')}-s{seed}"
    command = [venv_tool("tunebench"), "search", args.benchmark, "--data-dir", str(args.data_dir),
               *SEARCHES[label], "--seed", str(seed), "--max-epochs", str(args.epochs),
               "--max-concurrent", str(args.max_concurrent), "--name", name,
               "--storage-path", str(work / "ray_results"), "--tracking-uri", tracking_uri]
    if label == "ASHA+TPE":
        command += ["--num-samples", str(args.num_samples)]
    command += ["--set", *sets]
    done = run_logged(command, work / "logs" / f"{name}.log")
    result = SearchResult(label, seed, name, done.seconds)
    if done.returncode != 0:
        print(f"  {label} seed {seed}: tunebench exited {done.returncode}; log {done.log}:\n{done.tail()}",
              flush=True)
    else:
        read_search(tracking_uri, args.benchmark, result, args.grid_keys)
    if done.returncode != 0 or result.failed_trials:
        why = f"{result.failed_trials} trial(s) FAILED" if done.returncode == 0 else f"exit code {done.returncode}"
        raise SystemExit(f"{label} seed {seed}: {why}; see {done.log}")
    return result


def describe(result: SearchResult, grid_total: int, target: float) -> tuple[float, bool]:
    """Print one line for a search; returns (fraction of the grid's epochs, reached)."""
    reached = result.epochs_to(target)
    cost = reached if reached is not None else result.total_epochs
    fraction = cost / grid_total
    trial_cost = result.trial_epochs_to(target)
    trial_text = f"{trial_cost / grid_total:.2f}" if trial_cost is not None else "not reached"
    status = (f"reached after {cost:>3} epochs = {fraction:.2f} of grid" if reached is not None
              else f"NOT REACHED: charged all {cost:>3} epochs = {fraction:.2f} of grid")
    label = "grid order" if result.label == "grid" else result.label
    repeats = f", {result.repeat_epochs} on repeats" if result.repeats else ""
    print(f"seed {result.seed}  {label:<10}  {result.trials:>2} trials ({result.distinct_configs:>2} distinct, "
          f"{result.stopped_early:>2} stopped early), {result.total_epochs:>3} epochs ({result.total_epochs / grid_total:.2f} "
          f"of grid{repeats}), best {METRIC} {result.best:.4f}; {status} (trial-level {trial_text}); "
          f"wall {fmt_seconds(result.wall_s)}", flush=True)
    return fraction, reached is not None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from search_spaces import get_benchmark
    from tunebench.search import SearchOptions

    benchmark = get_benchmark(args.benchmark)
    if not benchmark.grid:
        raise SystemExit(f"{benchmark.name} has no report grid")
    size = grid_size(benchmark)
    args.num_samples = args.num_samples or size
    args.grid_keys = list(benchmark.grid)
    sets = search_settings(benchmark, args)
    print(machine())
    print(f"benchmark {benchmark.name}: grid {' x '.join(f'{k}{list(v)}' for k, v in benchmark.grid.items())} = "
          f"{size} configurations x {args.epochs} epochs; seeds {args.seeds}; ASHA+TPE {args.num_samples} samples, "
          f"ASHA grace {SearchOptions.grace_period} epoch, reduction factor 3 (tunebench's), max_t {args.epochs}; "
          f"--max-concurrent {args.max_concurrent}")
    print(f"--set {' '.join(sets)}")
    print(f"target: grid's best {METRIC} (max over every epoch of every trial) - {args.tolerance}; cost: epochs of "
          f"all trials in completion-time order up to the first epoch at or above it", flush=True)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="search_efficiency."))
    work.mkdir(parents=True, exist_ok=True)
    tracking_uri = f"sqlite:///{(work / 'mlruns.db').resolve()}"
    start = time.perf_counter()
    fractions: dict[str, list[float]] = {label: [] for label in SEARCHES}
    missed: dict[str, int] = {label: 0 for label in SEARCHES}
    walls: dict[str, list[float]] = {label: [] for label in SEARCHES}
    try:
        for seed in args.seeds:
            grid = run_search("grid", seed, args, sets, work, tracking_uri)
            expected = size * args.epochs
            if grid.trials != size or grid.total_epochs != expected:
                print(f"  warning: grid ran {grid.trials} trials / {grid.total_epochs} epochs, expected {size} / "
                      f"{expected}", flush=True)
            grid_total = grid.total_epochs
            target = grid.best - args.tolerance
            cells = grid.cells_at(target)
            print(f"seed {seed}: grid best {METRIC} {grid.best:.4f} -> target {target:.4f}; grid total {grid_total} "
                  f"epochs; {len(cells)} of them at or above the target: {', '.join(cells)}", flush=True)
            for result in (grid, *(run_search(label, seed, args, sets, work, tracking_uri)
                                   for label in SEARCHES if label != "grid")):
                fraction, reached = describe(result, grid_total, target)
                fractions[result.label].append(fraction)
                missed[result.label] += not reached
                walls[result.label].append(result.wall_s)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs, Ray results and the MLflow store kept in {work}")

    print()
    for label in SEARCHES:  # grid: how soon the grid itself, in its fixed order, got there (for context)
        flag = f", target not reached in {missed[label]}/{len(args.seeds)} seeds (charged all its epochs)" \
            if missed[label] else ""
        print(f"mean over {len(args.seeds)} seed(s): {'grid order' if label == 'grid' else label:<10} {statistics.mean(fractions[label]):.2f} of the grid's "
              f"epochs (per seed: {', '.join(f'{f:.2f}' for f in fractions[label])}){flag}; mean wall "
              f"{fmt_seconds(statistics.mean(walls[label]))}")
    print(f"total wall time {fmt_seconds(time.perf_counter() - start)}")
    asha, coordinate = statistics.mean(fractions["ASHA+TPE"]), statistics.mean(fractions["coordinate"])
    note = lambda label: f" (not reached in {missed[label]}/{len(args.seeds)})" if missed[label] else ""  # noqa: E731
    print(ratio_line("search", "ASHA+TPE needs", asha, f"of the grid's epochs (target <= {args.goal:.2f})"
                     + note("ASHA+TPE"), f"coordinate {coordinate:.2f}{note('coordinate')}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark 3, "search": how much of the report's grid each search method needs to get near the grid's best.

On a benchmark cheap enough to run the report's full grid at smoke scale on this machine (cnn-catsdogs: variant
x color x augment = 12 configurations, real images in ../shared/data/dogs-vs-cats), for each seed:

  1. `tunebench search --search grid` (FIFO): the baseline. Its total epochs (configurations x epochs) are the
     denominator, and its best validation accuracy over every epoch of every trial sets the target:
     target = grid best - tolerance (1 point).
  2. every other method of METHODS (--methods picks some): Optuna with a scheduler (ASHA, HyperBand, BOHB's
     HyperBand, median stopping) and a sampler (TPE, GP, random), TPE warm-started from the report's
     configurations, and the report's coordinate search. All get the same budget: the same epochs per trial and,
     where the method takes it, --num-samples = the grid's size; all search exactly the grid's values (every
     other key of the benchmark's Optuna space is fixed at its default with --set, the grid keys are given as
     comma lists, which become Optuna choices).

PBT is not among them: it perturbs continuous hyperparameters of running trials (and copies the better trials'
weights), and this grid (variant x colour x augmentation) has none to perturb; a model's variant cannot change
under trained weights.

Every epoch a search ran is read back from the MLflow store (the val_acc history of each trial run, with the
driver's timestamps) and walked in completion-time order across all its trials: the search's cost is the number
of epochs completed up to and including the first epoch whose val_acc >= target; fraction = cost / grid's
total epochs. A search that never reaches the target is charged all its epochs and flagged. For context the
script also prints the coarser trial-level count (tunebench.reports.best_so_far_frame: a trial's epochs count
only when the trial ends), the grid's own fraction in its fixed order, and each search's wall time.

All searches of a seed run with the same settings (--set), the same seed, their own --name, a temporary
--storage-path and one temporary sqlite MLflow store. A method whose flag this tunebench does not offer
(`tunebench search --help`) stops the script before anything runs (--skip-unavailable drops it instead); a
method that fails on a seed is reported and the others go on. The goal: the best method (by its worst seed)
needs <= 0.25 of the grid's epochs on every seed.

    .venv/bin/python benchmarks/search_efficiency.py [--seeds 0 1 2 3 4] [--methods asha-tpe coordinate] [--quick]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import SHARED, fmt_seconds, machine, ratio_line, run_logged, venv_tool  # noqa: E402
from tunebench.tracking import Tag  # noqa: E402

METRIC = "val_acc"


@dataclass(frozen=True)
class Method:
    key: str            # --methods name, and part of the search's --name
    label: str          # in the tables
    args: tuple[str, ...]
    samples: bool = True  # takes --num-samples (grid and coordinate run their own number of trials)


_OPTUNA = ("--search", "optuna")
METHODS: dict[str, Method] = {m.key: m for m in (
    Method("grid", "grid", ("--search", "grid", "--scheduler", "fifo"), samples=False),
    Method("asha-tpe", "ASHA+TPE", (*_OPTUNA, "--scheduler", "asha", "--sampler", "tpe")),
    Method("hyperband-tpe", "HyperBand+TPE", (*_OPTUNA, "--scheduler", "hyperband", "--sampler", "tpe")),
    Method("bohb", "BOHB", (*_OPTUNA, "--scheduler", "bohb", "--sampler", "tpe")),
    Method("median-tpe", "median+TPE", (*_OPTUNA, "--scheduler", "median", "--sampler", "tpe")),
    Method("asha-gp", "ASHA+GP", (*_OPTUNA, "--scheduler", "asha", "--sampler", "gp")),
    Method("asha-random", "ASHA+random", (*_OPTUNA, "--scheduler", "asha", "--sampler", "random")),
    Method("asha-tpe-warm", "ASHA+TPE warm", (*_OPTUNA, "--scheduler", "asha", "--sampler", "tpe",
                                              "--warm-start", "report")),
    Method("coordinate", "coordinate", ("--search", "coordinate", "--scheduler", "fifo"), samples=False),
)}
QUICK_METHODS = ("grid", "asha-tpe", "coordinate")


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
    error: str = ""                                          # why the search did not finish cleanly

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
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", metavar="METHOD", choices=list(METHODS),
                   help=f"the methods to run (the grid always runs: it sets the target); default all: "
                        f"{', '.join(METHODS)} (--quick: {', '.join(QUICK_METHODS)})")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="leave out, with a note, the methods whose flags this tunebench does not offer "
                        "(default: stop before running anything)")
    p.add_argument("--quick", action="store_true",
                   help="one seed (the first of --seeds), fewer epochs and images, grid + ASHA+TPE + coordinate "
                        "unless --methods: a fast check of the script")
    p.add_argument("--benchmark", default="cnn-catsdogs")
    p.add_argument("--data-dir", type=Path, default=SHARED / "data" / "dogs-vs-cats")
    p.add_argument("--epochs", type=int, help="epochs per trial (default 5; --quick 3)")
    p.add_argument("--num-samples", type=int,
                   help="trials of every method that takes --num-samples (default: the grid's size)")
    p.add_argument("--image-size", type=int, help="image side in pixels (default 32)")
    p.add_argument("--limit-per-class", help="at most this many images per class and split (default 250: 500 "
                                            "train, the whole 240-image val split; --quick 150)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--split", default="64/16/20", help="64/16/20 (default: the larger val split) or 80/10/10")
    p.add_argument("--tolerance", type=float, default=0.01, help="target = grid best val_acc - tolerance")
    p.add_argument("--goal", type=float, default=0.25,
                   help="the goal: the best method's fraction of the grid's epochs on every seed")
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--work-dir", type=Path, help="keep storage, logs and the MLflow store here (default: a temp "
                                                 "folder, deleted at the end)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds[:1]
        args.epochs = args.epochs or 3
        args.limit_per_class = args.limit_per_class or "150"
        args.methods = args.methods or list(QUICK_METHODS)
    args.methods = ["grid", *(key for key in METHODS if key != "grid" and key in (args.methods or METHODS))]
    args.epochs = args.epochs or 5
    args.image_size = args.image_size or 32
    args.limit_per_class = args.limit_per_class or "250"
    return args


def unavailable(methods: list[str]) -> dict[str, str]:
    """{method: why} for the methods whose flag or flag value `tunebench search --help` does not offer."""
    help_text = subprocess.run([venv_tool("tunebench"), "search", "--help"], capture_output=True, text=True,
                               check=True).stdout
    usage = help_text.split("\n\n", 1)[0]
    choices = {flag: set(values.split(",")) for flag, values in re.findall(r"(--[\w-]+) \{([^}]*)\}", usage)}
    missing = {}
    for key in methods:
        args = METHODS[key].args
        for flag, value in zip(args[::2], args[1::2]):
            if flag not in usage:
                missing[key] = f"no {flag} in `tunebench search --help`"
            elif flag in choices and value not in choices[flag]:
                missing[key] = f"{flag} {value} not offered (choices: {', '.join(sorted(choices[flag]))})"
            if key in missing:
                break
    return missing


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


def run_search(method: Method, seed: int, args, sets: list[str], work: Path, tracking_uri: str) -> SearchResult:
    """Run one search; its result, with `error` set (and a log tail printed) when it did not finish cleanly."""
    name = f"se-{method.key}-s{seed}"
    command = [venv_tool("tunebench"), "search", args.benchmark, "--data-dir", str(args.data_dir),
               *method.args, "--seed", str(seed), "--max-epochs", str(args.epochs),
               "--max-concurrent", str(args.max_concurrent), "--name", name,
               "--storage-path", str(work / "ray_results"), "--tracking-uri", tracking_uri]
    if method.samples:
        command += ["--num-samples", str(args.num_samples)]
    command += ["--set", *sets]
    done = run_logged(command, work / "logs" / f"{name}.log")
    result = SearchResult(method.label, seed, name, done.seconds)
    if done.returncode == 0:
        try:
            read_search(tracking_uri, args.benchmark, result, args.grid_keys)
        except Exception as e:  # noqa: BLE001 - reported as the method's error, the others go on
            result.error = f"reading its MLflow runs failed: {type(e).__name__}: {e}"
        if not result.error and result.failed_trials:
            result.error = f"{result.failed_trials} trial(s) FAILED"
        if not result.error and not result.epochs:
            result.error = "no epoch logged"
    else:
        result.error = f"tunebench exited {done.returncode}"
    if result.error:
        print(f"seed {seed}  {method.label:<13}  ERROR: {result.error}; log {done.log}:\n{done.tail()}", flush=True)
    return result


def describe(result: SearchResult, grid_total: int, target: float) -> tuple[int, float, bool]:
    """Print one line for a search; returns (epochs charged, fraction of the grid's epochs, reached)."""
    reached = result.epochs_to(target)
    cost = reached if reached is not None else result.total_epochs
    fraction = cost / grid_total
    trial_cost = result.trial_epochs_to(target)
    trial_text = f"{trial_cost / grid_total:.2f}" if trial_cost is not None else "not reached"
    status = (f"reached after {cost:>3} epochs = {fraction:.2f} of grid" if reached is not None
              else f"NOT REACHED: charged all {cost:>3} epochs = {fraction:.2f} of grid")
    label = "grid order" if result.label == "grid" else result.label
    repeats = f", {result.repeat_epochs} on repeats" if result.repeats else ""
    print(f"seed {result.seed}  {label:<13}  {result.trials:>2} trials ({result.distinct_configs:>2} distinct, "
          f"{result.stopped_early:>2} stopped early), {result.total_epochs:>3} epochs ({result.total_epochs / grid_total:.2f} "
          f"of grid{repeats}), best {METRIC} {result.best:.4f}; {status} (trial-level {trial_text}); "
          f"wall {fmt_seconds(result.wall_s)}", flush=True)
    return cost, fraction, reached is not None


@dataclass
class Outcome:
    """One method on one seed."""
    seed: int
    fraction: float = float("nan")
    reached: bool = False
    epochs: int = 0        # epochs it ran in all
    wall_s: float = 0.0
    error: str = ""

    def cell(self) -> str:
        if self.error:
            return "error"
        return f"{self.fraction:.2f}" if self.reached else f"not reached: {self.fraction:.2f}"


@dataclass
class Summary:
    label: str
    outcomes: list[Outcome]

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.error]

    @property
    def errors(self) -> int:
        return len(self.outcomes) - len(self.ok)

    @property
    def missed(self) -> int:
        return sum(not o.reached for o in self.ok)

    @property
    def mean(self) -> float:
        return statistics.mean(o.fraction for o in self.ok) if self.ok else float("nan")

    @property
    def worst(self) -> Outcome | None:
        """The seed with the largest fraction; a seed not reached counts as worse than any reached one."""
        return max(self.ok, key=lambda o: (not o.reached, o.fraction), default=None)

    def rank(self) -> tuple:
        worst = self.worst
        return (self.errors > 0, self.missed, worst.fraction if worst else float("inf"), self.mean)

    def row(self, seeds: int) -> str:
        worst = self.worst
        if worst is None:
            return f"| {self.label} | error | error | 0/{seeds} | – | – |"
        worst_text = f"{worst.fraction:.2f} (seed {worst.seed}{', not reached' if not worst.reached else ''})"
        errors = f", {self.errors} error{'s' if self.errors > 1 else ''}" if self.errors else ""
        return (f"| {self.label} | {self.mean:.2f} | {worst_text} | {len(self.ok) - self.missed}/{seeds}{errors} | "
                f"{statistics.mean(o.epochs for o in self.ok):.1f} | "
                f"{fmt_seconds(statistics.mean(o.wall_s for o in self.ok))} |")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from search_spaces import get_benchmark
    from tunebench.search.options import SearchOptions

    missing = unavailable(args.methods)
    for key, why in missing.items():
        print(f"method {key} ({METHODS[key].label}) is not available: {why}", flush=True)
    if missing and (not args.skip_unavailable or "grid" in missing):
        raise SystemExit(f"not available in this tunebench: {', '.join(missing)} (run --methods without them, or "
                         f"--skip-unavailable)")
    args.methods = [key for key in args.methods if key not in missing]
    methods = [METHODS[key] for key in args.methods]

    benchmark = get_benchmark(args.benchmark)
    if not benchmark.grid:
        raise SystemExit(f"{benchmark.name} has no report grid")
    size = grid_size(benchmark)
    args.num_samples = args.num_samples or size
    args.grid_keys = list(benchmark.grid)
    sets = search_settings(benchmark, args)
    print(machine())
    print(f"benchmark {benchmark.name}: grid {' x '.join(f'{k}{list(v)}' for k, v in benchmark.grid.items())} = "
          f"{size} configurations x {args.epochs} epochs; seeds {args.seeds}; methods "
          f"{', '.join(m.label for m in methods)}; {args.num_samples} samples each (grid and coordinate: their "
          f"own), max {args.epochs} epochs per trial; ASHA grace {SearchOptions.grace_period} epoch, reduction "
          f"factor 3 (tunebench's); --max-concurrent {args.max_concurrent}")
    for method in methods:
        print(f"  {method.label:<13} {' '.join(method.args)}{' --num-samples ' + str(args.num_samples) if method.samples else ''}")
    print(f"--set {' '.join(sets)}")
    print(f"target: grid's best {METRIC} (max over every epoch of every trial) - {args.tolerance}; cost: epochs of "
          f"all trials in completion-time order up to the first epoch at or above it", flush=True)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="search_efficiency."))
    work.mkdir(parents=True, exist_ok=True)
    tracking_uri = f"sqlite:///{(work / 'mlruns.db').resolve()}"
    start = time.perf_counter()
    summaries = {m.key: Summary("grid (its own order)" if m.key == "grid" else m.label, []) for m in methods}
    seed_rows: list[str] = []
    try:
        for seed in args.seeds:
            grid = run_search(METHODS["grid"], seed, args, sets, work, tracking_uri)
            if grid.error:
                print(f"seed {seed}: the grid failed, no target: seed skipped", flush=True)
                continue
            expected = size * args.epochs
            if grid.trials != size or grid.total_epochs != expected:
                print(f"  warning: grid ran {grid.trials} trials / {grid.total_epochs} epochs, expected {size} / "
                      f"{expected}", flush=True)
            grid_total = grid.total_epochs
            target = grid.best - args.tolerance
            cells = grid.cells_at(target)
            print(f"seed {seed}: grid best {METRIC} {grid.best:.4f} -> target {target:.4f}; grid total {grid_total} "
                  f"epochs; {len(cells)} of them at or above the target: {', '.join(cells)}", flush=True)
            outcomes = {}
            for method in methods:
                result = grid if method.key == "grid" else run_search(method, seed, args, sets, work, tracking_uri)
                outcome = Outcome(seed, wall_s=result.wall_s, error=result.error)
                if not result.error:
                    _, outcome.fraction, outcome.reached = describe(result, grid_total, target)
                    outcome.epochs = result.total_epochs
                summaries[method.key].outcomes.append(outcome)
                outcomes[method.key] = outcome
            others = [outcomes[m.key].cell() for m in methods if m.key != "grid"]
            seed_rows.append(f"| {seed} | {grid.best:.3f} → {target:.3f} | {' | '.join(others)} | "
                             f"{outcomes['grid'].cell()} |")
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs, Ray results and the MLflow store kept in {work}")

    seeds = len(seed_rows)
    print(f"\nfraction of the grid's epochs up to the first epoch at or above the target, {seeds} seed(s) (not reached: "
          f"charged all its epochs):\n")
    print("| method | mean | worst seed | reached | mean epochs run | mean wall |")
    print("|---|---|---|---|---|---|")
    for method in methods:
        print(summaries[method.key].row(seeds))
    print(f"\n| seed | grid best → target | {' | '.join(m.label for m in methods if m.key != 'grid')} | grid order |")
    print("|---|---|" + "---|" * len(methods))
    print("\n".join(seed_rows))
    print(f"\ntotal wall time {fmt_seconds(time.perf_counter() - start)}")

    ranked = sorted((summaries[m.key] for m in methods if m.key != "grid"), key=Summary.rank)
    failed = [s.label for s in summaries.values() if s.errors]
    if ranked and ranked[0].worst is not None:
        best = ranked[0]
        worst = best.worst
        met = best.errors == 0 and best.missed == 0 and worst.fraction <= args.goal + 1e-9
        missed = f", not reached in {best.missed}/{seeds}" if best.missed else ""
        rest = [f"mean {best.mean:.2f}"] + [
            f"{s.label} worst {s.worst.fraction:.2f}{' (not reached in ' + str(s.missed) + ')' if s.missed else ''}"
            for s in ranked[1:] if s.worst is not None]
        print(ratio_line("search", f"the best method by its worst seed, {best.label}, needs", worst.fraction,
                         f"of the grid's epochs on its worst seed (goal <= {args.goal:.2f} on every seed: "
                         f"{'met' if met else 'not met'}{missed})", "; ".join(rest)))
    if failed:
        print(f"methods with errors: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

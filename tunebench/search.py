"""Builds a Ray Tune search from a Benchmark and the CLI's options, runs it, and records it in MLflow."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import tunebench
from tunebench import TunebenchError
from tunebench.benchmark import Benchmark
from tunebench.signals import INTERRUPTED
from tunebench.tracking import DEFAULT_TRACKING_URI

SEARCHES = ("optuna", "random", "grid", "coordinate")
SCHEDULERS = ("asha", "fifo")
DEFAULT_NUM_SAMPLES = 16
RESULTS_FILE = "results.csv"
SEARCH_FILE = "tunebench_search.json"  # what a search was started with, for --resume


@dataclass
class SearchOptions:
    data_dir: Path
    search: str = "optuna"
    scheduler: str | None = None          # None: asha for optuna/random, fifo for the report's grid/coordinate
    num_samples: int | None = None
    max_epochs: int | None = None
    max_concurrent: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float | None = None   # None: 1 when the Ray cluster has GPUs, else 0
    overrides: dict[str, list[Any]] = field(default_factory=dict)
    seed: int = 0
    smoke: bool = False
    name: str | None = None
    storage_path: Path = Path("ray_results")
    tracking_uri: str = DEFAULT_TRACKING_URI
    download: bool = False
    grace_period: int = 1
    address: str | None = None            # None: a local Ray; auto | HOST:PORT | ray://HOST:10001: a running cluster
    max_failures: int = 0                 # retries of a trial that raised, from its last checkpoint
    resume: bool = False                  # continue the search `name` (default: this benchmark's latest)
    retry_errored: bool = False           # with resume: rerun errored trials from their last checkpoint
    data_pipeline: str = "cached"         # cached: decoded-image cache + batches augmented on the device; naive
    precision: str = "bf16"               # on CUDA: bf16 autocast, or fp32
    channels_last: bool = True            # on CUDA
    compile: bool = False                 # torch.compile the model
    reuse_actors: bool = True             # a finished trial's worker runs the next trial (when the trainable can)


@dataclass
class SearchPlan:
    """What will run: the fixed config every trial shares, what is swept, and how."""

    config: dict[str, Any]           # fixed values of every hyperparameter (swept ones: their start value)
    swept: dict[str, Any]            # key -> Tune domain (optuna/random) or list of values (grid/coordinate)
    search: str
    scheduler: str
    num_samples: int
    max_epochs: int

    def param_space(self) -> dict[str, Any]:
        from ray import tune

        if self.search == "coordinate":
            return dict(self.config)  # CoordinateSearch suggests the swept keys itself
        if self.search == "grid":
            return {**self.config, **{k: tune.grid_search(list(v)) for k, v in self.swept.items()}}
        return {**self.config, **self.swept}

    def values(self, key: str) -> list[Any]:
        """Every value `key` can take in this search: the report's list, a choice's categories, or the fixed
        value; [] for a continuous range, which has no list."""
        swept = self.swept.get(key)
        if swept is None:
            return [self.config.get(key)]
        if isinstance(swept, (list, tuple)):
            return list(swept)
        return list(getattr(swept, "categories", []))


def plan_search(benchmark: Benchmark, options: SearchOptions) -> SearchPlan:
    from ray import tune

    if options.search not in SEARCHES:
        raise TunebenchError(f"unknown search '{options.search}' (one of {', '.join(SEARCHES)})")
    scheduler = options.scheduler or ("fifo" if options.search in ("grid", "coordinate") else "asha")
    if scheduler not in SCHEDULERS:
        raise TunebenchError(f"unknown scheduler '{scheduler}' (one of {', '.join(SCHEDULERS)})")
    smoke = dict(benchmark.smoke) if options.smoke else {}
    max_epochs = options.max_epochs or smoke.pop("max_epochs", None) or benchmark.max_epochs
    num_samples = options.num_samples or smoke.pop("num_samples", None) or DEFAULT_NUM_SAMPLES
    if max_epochs < 1 or num_samples < 1:
        raise TunebenchError("--max-epochs and --num-samples must be at least 1")

    # --smoke's values are fixed (e.g. weights=none, so a smoke run works offline), then --set's single values
    fixed = {k: v for k, v in smoke.items() if k in benchmark.defaults}
    fixed.update({k: values[0] for k, values in options.overrides.items() if len(values) == 1})
    config = {**benchmark.defaults, **fixed}
    reports_grid = options.search in ("grid", "coordinate")
    source = benchmark.grid if reports_grid else benchmark.space
    if reports_grid and not benchmark.grid:
        raise TunebenchError(f"{benchmark.name} has no grid of the report's values: use --search optuna or random")
    swept = {k: v for k, v in source.items() if k not in fixed}
    for key, values in options.overrides.items():
        if len(values) > 1:
            swept[key] = list(values) if reports_grid else tune.choice(list(values))
    if options.search == "coordinate":
        for key, values in swept.items():  # start each round from the default if the report swept it
            config[key] = config[key] if config[key] in values else values[0]
        num_samples = sum(len(v) for v in swept.values())
    elif options.search == "grid":
        num_samples = 1
    config.setdefault("model", benchmark.model)
    config.update(epochs=max_epochs, seed=options.seed)
    if "split" in swept:
        raise TunebenchError("--set split: the dataset is split once per search; give one value")
    plan = SearchPlan(config, swept, options.search, scheduler, num_samples, max_epochs)
    _check_names(plan)
    return plan


def _check_names(plan: SearchPlan) -> None:
    """Models and feature extractors named in the plan exist: a one-line error before any trial starts."""
    from tunebench.models import MODELS
    from tunebench.models.feature_extractors import CUTS

    if "extractor" not in plan.config:  # feature-svm studies name an extractor instead of a model
        for model in plan.values("model"):
            MODELS.get(model)
    for extractor in plan.values("extractor"):
        if extractor is None:
            continue
        backbone, _, cut = extractor.partition(".")
        if cut not in CUTS.get(backbone, {}):
            known = ", ".join(f"{b}.{c}" for b, cuts in CUTS.items() for c in cuts)
            raise TunebenchError(f"--set extractor={extractor}: unknown (one of {known})")


def make_searcher(plan: SearchPlan, seed: int, max_concurrent: int | None = None):
    from ray.tune.search import BasicVariantGenerator

    if plan.search == "optuna":
        import optuna
        from tunebench.optuna_search import DistinctOptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # Tune's table shows the trials
        return DistinctOptunaSearch(seed=seed)
    if plan.search == "coordinate":
        from tunebench.coordinate_search import CoordinateSearch

        return CoordinateSearch(plan.swept, plan.config)
    # grid and random: Tune ignores TuneConfig's max_concurrent_trials for this searcher; it takes its own
    return BasicVariantGenerator(random_state=seed if plan.search == "random" else None,
                                 max_concurrent=max_concurrent or 0)


def make_scheduler(plan: SearchPlan, grace_period: int):
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if plan.scheduler == "asha":
        return ASHAScheduler(time_attr="training_iteration", max_t=plan.max_epochs,
                             grace_period=min(grace_period, plan.max_epochs), reduction_factor=3)
    return FIFOScheduler()


def build_tuner(benchmark: Benchmark, plan: SearchPlan, options: SearchOptions, trainable_cls, splits,
                resources: tuple[float, float], storage: Path, name: str, callbacks: list):
    """The Tuner of a search: searcher, scheduler, per-trial resources, checkpoints, live progress table."""
    from ray import tune

    reporter = tune.CLIReporter(
        parameter_columns=list(plan.swept),
        metric_columns={"training_iteration": "epoch", "val_loss": "val_loss", "val_acc": "val_acc",
                        **({benchmark.metric: benchmark.metric} if benchmark.metric not in ("val_loss", "val_acc")
                           else {})},
        max_report_frequency=10, sort_by_metric=True)
    return tune.Tuner(
        _with_data_and_resources(trainable_cls, splits, resources), param_space=plan.param_space(),
        tune_config=tune.TuneConfig(metric=benchmark.metric, mode=benchmark.mode,
                                    search_alg=make_searcher(plan, options.seed, options.max_concurrent),
                                    scheduler=make_scheduler(plan, options.grace_period),
                                    num_samples=plan.num_samples, max_concurrent_trials=options.max_concurrent,
                                    trial_dirname_creator=_trial_dirname,
                                    reuse_actors=options.reuse_actors and _can_reuse(trainable_cls)),
        run_config=tune.RunConfig(
            name=name, storage_path=str(storage), callbacks=callbacks, progress_reporter=reporter, verbose=1,
            failure_config=tune.FailureConfig(max_failures=options.max_failures),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=1, num_to_keep=1, checkpoint_score_attribute=benchmark.metric,
                checkpoint_score_order=benchmark.mode)))


def _can_reuse(trainable_cls) -> bool:
    """Tune may hand a finished trial's actor (imports done, data mapped) to the next trial when the trainable
    can reset itself."""
    from ray import tune

    return trainable_cls.reset_config is not tune.Trainable.reset_config


def _with_data_and_resources(trainable_cls, splits, resources: tuple[float, float]):
    """The trainable as Tune runs it: the dataset splits put in Ray's object store once, a trial's CPUs/GPUs."""
    from ray import tune

    cpus, gpus = resources
    return tune.with_resources(tune.with_parameters(trainable_cls, splits=splits), {"cpu": cpus, "gpu": gpus})


def _trial_dirname(trial) -> str:
    return f"trial_{trial.trial_id}"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(tunebench.__file__).parent,
                              capture_output=True, text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _init_ray(options: SearchOptions) -> tuple[float, float]:
    """Start (or join) Ray; returns (cpus, gpus) per trial, checked against what the cluster has."""
    import ray

    if not ray.is_initialized():
        try:
            # "local": a new Ray of this search's own, not whichever `ray start` cluster runs on the machine
            ray.init(address=options.address or "local", include_dashboard=False if not options.address else None,
                     configure_logging=True, logging_level=logging.WARNING,
                     logging_config=ray.LoggingConfig(log_level="WARNING"))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise TunebenchError(f"cannot connect to Ray at {options.address}: "
                                 f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
                                 ) from None
    available_gpus = ray.cluster_resources().get("GPU", 0)
    gpus = options.gpus_per_trial if options.gpus_per_trial is not None else (1.0 if available_gpus else 0.0)
    if gpus > 0 and available_gpus == 0:
        raise TunebenchError(f"--gpus-per-trial {gpus}: the Ray cluster has no GPUs (use --gpus-per-trial 0)")
    if gpus > available_gpus:
        raise TunebenchError(f"--gpus-per-trial {gpus}: more than the {available_gpus:g} GPUs the cluster has")
    if options.cpus_per_trial > ray.cluster_resources().get("CPU", 0):
        raise TunebenchError(f"--cpus-per-trial {options.cpus_per_trial:g}: more than the cluster's CPUs")
    return options.cpus_per_trial, gpus


def _check_reachable(address: str, seconds: float = 5.0) -> None:
    """A TCP connect to a Ray address first: ray.init retries an unreachable one for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=seconds):
            return
    except ValueError:
        raise TunebenchError(f"--address {address}: expected auto, HOST:PORT or ray://HOST:10001") from None
    except OSError as exc:
        raise TunebenchError(f"cannot connect to Ray at {address}: {exc.strerror or exc}") from None


def _storage(options: SearchOptions) -> Path:
    storage = options.storage_path.expanduser().resolve()
    try:
        storage.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunebenchError(f"cannot write to --storage-path {storage}: {exc.strerror}") from None
    return storage


def _resume_target(benchmark: Benchmark, options: SearchOptions) -> tuple[str, dict[str, Any]]:
    """The search to resume (--name, else this benchmark's latest in storage) and what was saved at its start."""
    storage = options.storage_path.expanduser().resolve()
    if options.name:
        name = options.name
    else:
        saved = sorted(storage.glob(f"*/{SEARCH_FILE}"), key=lambda p: p.stat().st_mtime)
        mine = [p.parent.name for p in saved if json.loads(p.read_text()).get("benchmark") == benchmark.name]
        if not mine:
            raise TunebenchError(f"--resume: no search of {benchmark.name} in {storage} (give --name)")
        name = mine[-1]
    path = storage / name / SEARCH_FILE
    if not path.is_file():
        raise TunebenchError(f"--resume: no search named '{name}' in {storage}")
    saved = json.loads(path.read_text())
    if saved["benchmark"] != benchmark.name:
        raise TunebenchError(f"--resume: '{name}' is a search of {saved['benchmark']}, not {benchmark.name}: "
                             f"continue it with tunebench search {saved['benchmark']} --resume --name {name}")
    return name, saved


def _interrupted(benchmark: Benchmark, experiment_path: Path, detail: str = "") -> TunebenchError:
    return TunebenchError(
        f"interrupted: {detail}unfinished trials marked KILLED in MLflow; the trials so far are in "
        f"{experiment_path / RESULTS_FILE}. Continue with: tunebench search {benchmark.name} --resume "
        f"--name {experiment_path.name}", exit_code=130)


# what a search was started with, saved beside Ray's state: --resume plans it again from these
_SAVED_OPTIONS = ("search", "scheduler", "num_samples", "max_epochs", "max_concurrent", "overrides", "seed", "smoke",
                  "grace_period", "max_failures", "reuse_actors")


def run_search(benchmark: Benchmark, options: SearchOptions, say: Callable[[str], None] = print) -> str:
    """Run the search end to end (or resume it); returns the MLflow id of its parent run."""
    from ray import tune

    from tunebench.data import build_dataset
    from tunebench.models import fetch_weights
    from tunebench.signals import deferred_signals, sigint_kept, stop_signals_interrupt
    from tunebench.tracking import Tracker
    from tunebench.trainable import TRAINABLES
    from tunebench.tune_callbacks import InterruptWatch, TrialRuns

    if benchmark.trainer not in TRAINABLES:
        raise TunebenchError(f"{benchmark.name}: unknown trainer '{benchmark.trainer}' (one of {', '.join(TRAINABLES)})")
    trainable_cls = TRAINABLES[benchmark.trainer]
    if options.resume:
        name, saved = _resume_target(benchmark, options)
        options = dataclasses.replace(options, tracking_uri=saved["tracking_uri"], data_dir=Path(saved["data_dir"]),
                                      **saved.get("options", {}))
        if "options" in saved:
            plan = plan_search(benchmark, options)
            plan.config = saved["config"]  # with what the trials' device runs, as recorded at the start
        else:  # a search file of tunebench 0.1.0 before these were saved: Ray Tune's state has the rest
            plan = SearchPlan(saved["config"], dict.fromkeys(saved["swept"]), saved["search"], saved["scheduler"],
                              saved["num_samples"], saved["max_epochs"])
    else:
        plan = plan_search(benchmark, options)
    tracker = Tracker(options.tracking_uri)  # checked before any work starts, as is a cluster's address
    if options.address and options.address != "auto":
        _check_reachable(options.address)
    storage = _storage(options)
    if not options.resume:
        name = options.name or f"{benchmark.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        if (storage / name / SEARCH_FILE).exists():
            raise TunebenchError(f"a search named '{name}' exists in {storage}: continue it with --resume --name {name}")

    splits = build_dataset(benchmark.dataset, options.data_dir, limit_per_class=plan.config.get("limit_per_class"),
                           download=options.download, progress=say, split=plan.config.get("split"))
    _warn_skipped(splits.skipped)
    say(f"{benchmark.dataset}: {splits.num_classes} classes, {splits.sizes()} ({splits.split_source})")
    if not splits.train or not splits.val:
        raise TunebenchError(f"{benchmark.dataset} in {options.data_dir}: no images left to train or validate on")
    if not options.resume and "imagenet" in plan.values("weights"):
        for source in _imagenet_sources(plan):
            fetch_weights(source)

    cpus, gpus = _init_ray(options)
    stop_signals_interrupt()  # ray.init put its own SIGTERM handler in place
    INTERRUPTED.clear()
    _tune_environment()
    experiment_path = storage / name
    if options.resume:
        parent, experiment_id = saved["parent_run_id"], saved["experiment_id"]
    else:
        from tunebench.acceleration import settings

        # what the trials' device will run, recorded with every trial's config
        plan.config.update(data_pipeline=options.data_pipeline,
                           **settings(gpus > 0, options.precision, options.channels_last, options.compile))
        experiment_id = tracker.experiment_id(benchmark.name)
        with deferred_signals():  # a search's parent run exists exactly when its file does
            parent = tracker.start_run(
                experiment_id, name,
                {**{k: v for k, v in plan.config.items() if k not in plan.swept}, "swept": ",".join(plan.swept),
                 "search": plan.search, "scheduler": plan.scheduler, "num_samples": plan.num_samples,
                 "cpus_per_trial": cpus, "gpus_per_trial": gpus, "smoke": options.smoke},
                {"benchmark": benchmark.name, "search": plan.search, "scheduler": plan.scheduler,
                 "git_commit": _git_commit(), "tunebench_version": tunebench.__version__,
                 "seed_report": benchmark.seed_report, "ray_experiment": str(experiment_path)})
            experiment_path.mkdir(parents=True, exist_ok=True)
            (experiment_path / SEARCH_FILE).write_text(json.dumps({
                "benchmark": benchmark.name, "parent_run_id": parent, "experiment_id": experiment_id,
                "tracking_uri": options.tracking_uri, "data_dir": str(options.data_dir), "config": plan.config,
                "swept": list(plan.swept), "num_samples": plan.num_samples, "max_epochs": plan.max_epochs,
                "options": {key: getattr(options, key) for key in _SAVED_OPTIONS}}, indent=1, default=str))
    status = "FAILED"
    try:
        if options.resume:
            tracker.client.update_run(parent, status="RUNNING")
            # runs a killed driver left RUNNING: KILLED now; the trials Tune restores reopen theirs when they start
            tracker.close_running(experiment_id, parent)
        if options.resume and tune.Tuner.can_restore(str(experiment_path)):
            say(f"resuming search {name} (MLflow run {parent}); finished trials are kept, unfinished ones continue "
                f"from their last checkpoint{', errored ones too' if options.retry_errored else ''}")
            _old_callback_names()
            tuner = tune.Tuner.restore(str(experiment_path),
                                       _with_data_and_resources(trainable_cls, splits, (cpus, gpus)),
                                       resume_unfinished=True, resume_errored=options.retry_errored)
        else:
            if options.resume:
                say(f"resuming search {name} (MLflow run {parent}): it was stopped before Ray Tune saved its "
                    f"state, so its trials start again")
            tuner = build_tuner(benchmark, plan, options, trainable_cls, splits, (cpus, gpus), storage, name,
                                [TrialRuns(tracker, experiment_id, parent), InterruptWatch()])
        samples = f"{'at most ' if plan.search == 'coordinate' else ''}{plan.num_samples} samples"
        say(f"search {name}: {plan.search} + {plan.scheduler}, {samples} x {plan.max_epochs} epochs; "
            f"MLflow run {parent} in experiment '{benchmark.name}' at {options.tracking_uri}")
        with sigint_kept():
            grid = tuner.fit()
        status = _finish(grid, benchmark, plan, trainable_cls, splits, (cpus, gpus), tracker, parent,
                         experiment_path, options, say)
        return parent
    except KeyboardInterrupt:  # a second Ctrl-C (or SIGTERM) while Tune stopped, or one after the trials ended
        status = "KILLED"
        raise _interrupted(benchmark, experiment_path) from None
    except TunebenchError as exc:
        status = "KILLED" if exc.exit_code == 130 else status  # interrupted: resumable
        raise
    finally:
        tracker.close_running(experiment_id, parent)
        tracker.end_run(parent, status)


def _old_callback_names() -> None:
    """Searches started before the MLflow callback left the tracking module pickled it as
    tunebench.tracking.TrialRuns: Tuner.restore finds it there."""
    import tunebench.tracking
    from tunebench.tune_callbacks import TrialRuns

    tunebench.tracking.TrialRuns = TrialRuns


def _tune_environment() -> None:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # the classic table, with the columns build_tuner chooses
    # a snapshot after every checkpoint is what num_to_keep=1 asks for, and cheap on local disk
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


MAX_SKIPPED_SHOWN = 10


def _warn_skipped(skipped: list[tuple[str, str]]) -> None:
    """Unreadable images, on stderr: the first few by name, then how many more."""
    for path, reason in skipped[:MAX_SKIPPED_SHOWN]:
        print(f"warning: skipped {path}: {reason}", file=sys.stderr)
    if len(skipped) > MAX_SKIPPED_SHOWN:
        print(f"warning: skipped {len(skipped) - MAX_SKIPPED_SHOWN} more unreadable images", file=sys.stderr)


def _finish(grid, benchmark: Benchmark, plan: SearchPlan, trainable_cls, splits, resources: tuple[float, float],
            tracker, parent: str, experiment_path: Path, options: SearchOptions, say: Callable[[str], None]) -> str:
    """After Tuner.fit: the results table, the best trial on the test split, the parent run's summary."""
    from tunebench.reports import reference_table, search_summary, trials_table

    table = trials_table(
        ((Path(r.path).name.removeprefix("trial_"), r.config or {}, r.metrics_dataframe, r.error is not None)
         for r in grid), list(plan.swept), benchmark.metric, benchmark.mode, plan.max_epochs)
    table.to_csv(experiment_path / RESULTS_FILE, index=False)
    tracker.log_artifact(parent, experiment_path / RESULTS_FILE)
    say("\nTrials (best first):\n" + table.head(10).to_string(index=False, float_format="%.4g"))
    # a trial that completed or that the scheduler stopped reported done; Ctrl-C leaves the others without it
    unfinished = [r for r in grid if r.error is None and not (r.metrics or {}).get("done")]
    if unfinished or INTERRUPTED.is_set():  # Tune returns early when interrupted (Ctrl-C, SIGTERM)
        raise _interrupted(benchmark, experiment_path, f"{len(unfinished)} " if unfinished else "")
    if table.empty or table[benchmark.metric].isna().all():
        first_error = next((r.error for r in grid if r.error is not None), None)
        raise TunebenchError(f"no trial reported {benchmark.metric}"
                             + (f"; first error: {str(first_error).strip().splitlines()[-1]}" if first_error else ""))
    tracker.set_tags(parent, {f"best.{key}": table[key].iloc[0] for key in plan.swept})
    # a local CPU-only Ray: this process has the code imported and the data loaded; a worker would start cold
    on_worker = options.address is not None or resources[1] > 0
    test = _test_best(grid, benchmark, trainable_cls, splits, resources if on_worker else None, tracker, parent,
                      experiment_path, say)
    tracker.log_metrics(parent, {**search_summary(table, benchmark.metric),
                                 **({k: v for k, v in test.items() if k.startswith("test_")} if test else {})})
    if benchmark.reference:
        say("\nReport's reference results (test accuracy):\n" + reference_table(
            benchmark.reference, test["test_acc"] if test else None).to_string(index=False, float_format="%.3f"))
    say(f"\nresults: {experiment_path / RESULTS_FILE}\nMLflow:  mlflow ui --backend-store-uri {options.tracking_uri}")
    return "FINISHED"


def prefetch(benchmark: Benchmark, data_dir: Path, say: Callable[[str], None] = print) -> list[str]:
    """Download the benchmark's dataset into data_dir and every ImageNet checkpoint its searches can load into
    torch's cache ($TORCH_HOME), so nodes without internet can run it; returns the weights fetched."""
    from tunebench.data import build_dataset
    from tunebench.models import fetch_weights

    splits = build_dataset(benchmark.dataset, data_dir, download=True, progress=say)
    say(f"{benchmark.dataset} in {data_dir}: {splits.num_classes} classes, {splits.sizes()}")
    plans = [plan_search(benchmark, SearchOptions(data_dir=data_dir))]
    if benchmark.grid:
        plans.append(plan_search(benchmark, SearchOptions(data_dir=data_dir, search="grid")))
    sources = sorted({source for plan in plans for source in _imagenet_sources(plan)})
    for source in sources:
        fetch_weights(source)
        say(f"ImageNet weights of {source}: cached")
    return sources


def _imagenet_sources(plan: SearchPlan) -> list[str]:
    """The torchvision models whose ImageNet weights the plan's trials load (fetched before any trial starts)."""
    from tunebench.features import split_extractor
    from tunebench.models import imagenet_sources

    names = {split_extractor(e)[0] for e in plan.values("extractor") if e}
    for model in plan.values("model") if "extractor" not in plan.config else []:
        for backbone in plan.values("backbone"):
            names.update(imagenet_sources(model, backbone))
    return sorted(names)


def _test_best(grid, benchmark: Benchmark, trainable_cls, splits, resources: tuple[float, float] | None, tracker,
               parent: str, experiment_path: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Evaluate the best trial's best checkpoint on the test split, on a worker with a trial's (cpus, gpus)
    resources, or in this process when resources is None; the predictions and scikit-learn's per-class report go
    to the parent run as CSV artifacts."""
    import ray

    from tunebench.reports import classification_table

    best = grid.get_best_result(benchmark.metric, benchmark.mode, scope="all")
    checkpoint = best.get_best_checkpoint(benchmark.metric, benchmark.mode)
    if checkpoint is None or not splits.test:
        say("no checkpoint or no test images: test split not evaluated")
        return None
    say(f"\nevaluating the best trial ({best.metrics.get('trial_id')}) on {len(splits.test)} test images")
    if resources is None:
        test = trainable_cls.evaluate_checkpoint(checkpoint, best.config, splits)
    else:
        evaluate = ray.remote(num_cpus=resources[0], num_gpus=resources[1])(trainable_cls.evaluate_checkpoint)
        test = ray.get(evaluate.remote(checkpoint, best.config, splits))
    predictions = pd.DataFrame({"true": [splits.classes[i] for i in test.pop("targets")],
                                "predicted": [splits.classes[i] for i in test.pop("predictions")]})
    predictions.to_csv(experiment_path / "test_predictions.csv", index=False)
    classification_table(predictions["true"], predictions["predicted"]).to_csv(
        experiment_path / "test_classification_report.csv", index=False)
    for artifact in ("test_predictions.csv", "test_classification_report.csv"):
        tracker.log_artifact(parent, experiment_path / artifact)
    tracker.set_tags(parent, {"best_trial": best.metrics.get("trial_id"), "best_checkpoint": checkpoint.path})
    loss = f"loss {test['test_loss']:.4f}, " if "test_loss" in test else ""
    say(f"test: {loss}accuracy {test['test_acc']:.4f}, macro recall {test['test_macro_recall']:.4f}, "
        f"macro F1 {test['test_macro_f1']:.4f} (checkpoint of epoch {test['epoch']})")
    return test

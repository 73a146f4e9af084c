"""A search session: one run of `tunebench search`, new (`start`) or continued (`resume`). It holds what every step
needs (benchmark, options, plan, where it is stored, the tracker, data, resources, MLflow ids) and runs the steps
in order: load the data, start Ray, open the parent run, fit, finish."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import tunebench
from tunebench import TunebenchError, console
from tunebench.benchmark import Benchmark
from tunebench.reports import describe_objectives, objectives_tag
from tunebench.search import tuner
from tunebench.search.cluster import check_reachable, init_ray, new_run_folder, storage_folder
from tunebench.search.methods import optuna_tags
from tunebench.search.options import SAVED, SearchOptions
from tunebench.search.plan import SearchPlan, plan_search, with_objective
from tunebench.search.record import SEARCH_FILE, SearchRecord, find_search
from tunebench.search.results import finish, interrupted
from tunebench.search.warm_start import warm_start
from tunebench.tracking import Tag, Tracker


@dataclass
class SearchSession:
    """What every step of a search needs; `start` or `resume` builds it, `run` runs it."""

    benchmark: Benchmark
    options: SearchOptions           # a resumed search's: as it was started
    plan: SearchPlan
    experiment_path: Path            # the search's folder in --storage-path: Ray Tune's state and the search file
    tracker: Tracker
    say: Callable[[str], None] = console.say
    record: SearchRecord | None = None  # a resumed search's search file
    part: str | None = None          # a study's part (tunebench study): its trial runs nest under the study's run
    # set as the session runs
    splits: Any = field(default=None, init=False)
    resources: tuple[float, float] = field(default=(1.0, 0.0), init=False)  # a trial's (cpus, gpus)
    experiment_id: str = field(default="", init=False)
    parent: str = field(default="", init=False)  # the search's MLflow run
    searcher: Any = field(default=None, init=False)  # a new Tuner's searcher (tuner.build_tuner)
    budget_reached: bool = field(default=False, init=False)  # --time-budget ended the fit

    @property
    def name(self) -> str:
        return self.experiment_path.name

    @property
    def storage(self) -> Path:
        return self.experiment_path.parent

    @property
    def trainable(self) -> type:
        return _trainable(self.benchmark)

    @property
    def resumed(self) -> bool:
        return self.record is not None

    @classmethod
    def start(cls, benchmark: Benchmark, options: SearchOptions,
              say: Callable[[str], None] = console.say) -> SearchSession:
        _trainable(benchmark)  # a user file's unknown trainer: an error before anything starts
        benchmark = benchmark.on_dataset(options.dataset)
        plan = plan_search(benchmark, options)
        benchmark = with_objective(benchmark, plan)
        if benchmark.dataset == "folder":  # --dataset folder, or a search-space file's
            check_recipe_fits(benchmark, plan, options.data_dir)
        tracker = open_stores(options)
        plan.warm = warm_start(benchmark, plan, options, tracker, say)  # --warm-start: what it starts from, said
        folder = new_run_folder(options, benchmark.name, SEARCH_FILE, "search")
        return cls(benchmark, options, plan, folder, tracker, say)

    @classmethod
    def resume(cls, benchmark: Benchmark, options: SearchOptions,
               say: Callable[[str], None] = console.say) -> SearchSession:
        _trainable(benchmark)
        name, record = find_search(benchmark, options.storage_path.expanduser().resolve(), options.name)
        options = replace(options, tracking_uri=record.tracking_uri, data_dir=Path(record.data_dir),
                          **{k: v for k, v in record.options.items() if k in SAVED})
        benchmark = benchmark.on_dataset(options.dataset)
        if record.options:
            plan = plan_search(benchmark, options)
            plan.config = record.config  # with what the trials' device runs, as recorded at the start
            benchmark = with_objective(benchmark, plan)
        else:  # a search file of tunebench 0.1.0 before the options were saved: Ray Tune's state has the rest
            plan = SearchPlan(record.config, dict.fromkeys(record.swept), record.search, record.scheduler,
                              record.num_samples, record.max_epochs)
        tracker = open_stores(options)
        return cls(benchmark, options, plan, storage_folder(options) / name, tracker, say, record)

    def run(self) -> str:
        """The search end to end; returns the MLflow id of its parent run."""
        self.prepare()
        self.resources = init_ray(self.options)
        _imports_out_of_gc()
        self._open_parent_run()
        status = "FAILED"
        try:
            if self.resumed:
                self._reopen_parent_run()
            fitting = self.tuner()
            samples = f"{'at most ' if self.plan.method.may_end_early else ''}{self.plan.num_samples} samples"
            budget = f" within {console.duration(self.options.time_budget_s)}" if self.options.time_budget_s else ""
            self.say(f"search {self.name}: {self.plan.label} + {self.plan.scheduler}, {samples} x "
                     f"{self.plan.max_epochs} epochs{budget}; MLflow run {self.parent} in experiment "
                     f"'{self.benchmark.name}' at {self.options.tracking_uri}\n"
                     f"  trials and checkpoints: {self.experiment_path}\n"
                     f"  watch it: tunebench ui --tracking-uri {self.options.tracking_uri}")
            grid = self.fit(fitting)
            status = finish(self, grid)
            return self.parent
        except KeyboardInterrupt:  # a second Ctrl-C (or SIGTERM) while Tune stopped, or one after the trials ended
            status = "KILLED"
            raise interrupted(self) from None
        except TunebenchError as exc:
            status = "KILLED" if exc.exit_code == 130 else status  # interrupted: resumable
            raise
        finally:
            self.tracker.close_running(self.experiment_id, self.parent)
            self.tracker.end_run(self.parent, status)

    def fit(self, fitting=None):
        """Tuner.fit with Ctrl-C kept for Tune's own graceful stop; returns Tune's ResultGrid. Notes whether the
        time budget ended it (Ray Tune's TimeoutStopper counts from inside fit: less than this)."""
        import time

        from tunebench.signals import INTERRUPTED, sigint_kept

        fitting = fitting or self.tuner()
        started = time.monotonic()
        with sigint_kept():
            grid = fitting.fit()
        budget = self.options.time_budget_s
        self.budget_reached = bool(budget) and time.monotonic() - started >= budget and not INTERRUPTED.is_set()
        return grid

    def prepare(self, splits=None) -> None:
        """The dataset split (loaded, or `splits` a study has loaded for another part) and the ImageNet weights the
        trials load, before Ray starts them."""
        self.splits = splits or self.load_data()
        if not self.resumed and "imagenet" in self.plan.values("weights"):
            from tunebench.models import fetch_weights

            for source in self.plan.weight_sources():
                fetch_weights(source)

    def load_data(self):
        from tunebench.data import build_dataset

        _imports_out_of_gc()
        options, dataset = self.options, self.benchmark.dataset
        splits = build_dataset(dataset, options.data_dir, limit_per_class=self.plan.config.get("limit_per_class"),
                               download=options.download, progress=self.say, split=self.plan.config.get("split"))
        _warn_skipped(splits.skipped)
        self.say(f"{dataset}: {splits.num_classes} classes, {splits.sizes()} ({splits.split_source})")
        if not splits.train or not splits.val:
            raise TunebenchError(f"{dataset} in {options.data_dir}: no images left to train or validate on")
        return splits

    def _open_parent_run(self) -> None:
        """A new search: its parent run and search file, written as one step. A resumed one: its ids."""
        from tunebench.signals import deferred_signals

        if self.resumed:
            self.parent, self.experiment_id = self.record.parent_run_id, self.record.experiment_id
            return
        plan, options = self.plan, self.options
        # what the trials' device will run, recorded with every trial's config
        plan.config.update(data_pipeline=options.data_pipeline, **asdict(options.accel.on(self.resources[1] > 0)))
        self.experiment_id = self.tracker.experiment_id(self.benchmark.name)
        with deferred_signals():  # a search's parent run exists exactly when its file does
            self.parent = self.tracker.start_run(self.experiment_id, self.name, self._parent_params(),
                                                 self._parent_tags())
            SearchRecord.of(self).write(self.experiment_path)

    def _reopen_parent_run(self) -> None:
        """The parent run RUNNING again; runs a killed driver left RUNNING marked KILLED (the trials Tune restores
        reopen theirs when they start)."""
        self.tracker.client.update_run(self.parent, status="RUNNING")
        self.tracker.close_running(self.experiment_id, self.parent)

    def _parent_params(self) -> dict[str, Any]:
        plan, (cpus, gpus) = self.plan, self.resources
        return {**{k: v for k, v in plan.config.items() if k not in plan.swept}, "swept": ",".join(plan.swept),
                "search": plan.search, "scheduler": plan.scheduler, "num_samples": plan.num_samples,
                "cpus_per_trial": cpus, "gpus_per_trial": gpus, "smoke": self.options.smoke,
                **({"time_budget_s": self.options.time_budget_s} if self.options.time_budget_s else {})}

    def _parent_tags(self) -> dict[str, Any]:
        return {Tag.BENCHMARK: self.benchmark.name, Tag.SEARCH: self.plan.search, Tag.SCHEDULER: self.plan.scheduler,
                Tag.GIT_COMMIT: git_commit(), Tag.VERSION: tunebench.__version__,
                Tag.SEED_REPORT: self.benchmark.seed_report, Tag.RAY_EXPERIMENT: str(self.experiment_path),
                Tag.SMOKE: self.options.smoke, Tag.DATASET: self.benchmark.dataset, Tag.METRIC: self.benchmark.metric,
                Tag.MODE: self.benchmark.mode, Tag.NOTE: self._description(), **optuna_tags(self),
                **({Tag.SAMPLER: self.plan.sampler} if self.plan.search == "optuna" else {}),
                **({Tag.OBJECTIVES: objectives_tag(self.plan.objectives)} if self.plan.objectives
                   else {}),
                **({Tag.WARM_START: self.plan.warm.note} if self.plan.warm else {})}

    def _description(self) -> str:
        """What the search is, in a line: the parent run's description in MLflow's UI."""
        plan, benchmark = self.plan, self.benchmark
        swept = f" over {', '.join(plan.swept)}" if plan.swept else ""
        aims = describe_objectives(plan.objectives)
        objectives = f", objective{'s' * plan.multi_objective} {aims}" if plan.objectives else ""
        return (f"{plan.label} search{swept} ({plan.scheduler}): {plan.num_samples} trials of at most "
                f"{plan.max_epochs} epochs, {benchmark.model} on {benchmark.dataset}{objectives}"
                + (f" (report {benchmark.seed_report})" if benchmark.reference else "")
                + (", smoke" if self.options.smoke else ""))

    def tuner(self):
        if self.part and tuner.can_restore(self):  # a study's part continues whenever Ray Tune saved its state
            return tuner.restore_tuner(self)
        if self.resumed and tuner.can_restore(self):
            self.say(f"resuming search {self.name} (MLflow run {self.parent}); finished trials are kept, unfinished "
                     f"ones continue from their last checkpoint{', errored ones too' if self.options.retry_errored else ''}")
            return tuner.restore_tuner(self)
        if self.resumed:
            self.say(f"resuming search {self.name} (MLflow run {self.parent}): it was stopped before Ray Tune saved "
                     f"its state, so its trials start again")
            self.plan.warm = warm_start(self.benchmark, self.plan, self.options, self.tracker, self.say,
                                        exclude=(self.parent,))  # a new searcher: its warm start again
        return tuner.build_tuner(self)


def _imports_out_of_gc() -> None:
    """What is imported so far (torch, Ray, MLflow: hundreds of thousands of objects that live as long as the
    process) moved out of the garbage collector's sight (gc.freeze): its full collections, which the image check
    and the trials' bookkeeping trigger, then scan only what the search makes (0.2 s each with torch's objects)."""
    import gc

    gc.freeze()


def run_search(benchmark: Benchmark, options: SearchOptions, say: Callable[[str], None] = console.say) -> str:
    """Run the search end to end (or resume it); returns the MLflow id of its parent run."""
    session = (SearchSession.resume if options.resume else SearchSession.start)(benchmark, options, say)
    return session.run()


def _trainable(benchmark: Benchmark) -> type:
    from tunebench.trainable import TRAINABLES

    if benchmark.trainer not in TRAINABLES:
        raise TunebenchError(f"{benchmark.name}: unknown trainer '{benchmark.trainer}' (one of {', '.join(TRAINABLES)})")
    return TRAINABLES[benchmark.trainer]


def check_recipe_fits(benchmark: Benchmark, plan: SearchPlan, data_dir: Path) -> None:
    """Refuse, before Ray starts, a recipe that cannot learn a class folder's classes: loss=bce (one sigmoid output)
    needs exactly two. (The model's output layer is sized to the classes found: trainable.build_state.)"""
    from tunebench.data.folder import folder_classes

    if not data_dir.is_dir():  # build_dataset says so, before Ray starts
        return
    classes = folder_classes(data_dir)
    if "bce" in plan.values("loss") and len(classes) != 2:
        shown = ", ".join(classes[:5]) + (", ..." if len(classes) > 5 else "")
        raise TunebenchError(f"{benchmark.name} trains with loss=bce (one sigmoid output), which needs exactly two "
                             f"classes; {data_dir} has {len(classes)} ({shown}): add --set loss=cross_entropy")


def open_stores(options: SearchOptions) -> Tracker:
    """The tracking store and a cluster's address, checked before any work starts."""
    tracker = Tracker(options.tracking_uri)
    if options.address and options.address != "auto":
        check_reachable(options.address)
    return tracker


MAX_SKIPPED_SHOWN = 10


def _warn_skipped(skipped: list[tuple[str, str]]) -> None:
    """Unreadable images, on stderr: the first few by name, then how many more."""
    import sys

    for path, reason in skipped[:MAX_SKIPPED_SHOWN]:
        print(f"warning: skipped {path}: {reason}", file=sys.stderr)
    if len(skipped) > MAX_SKIPPED_SHOWN:
        print(f"warning: skipped {len(skipped) - MAX_SKIPPED_SHOWN} more unreadable images", file=sys.stderr)


def git_commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(tunebench.__file__).parent,
                              capture_output=True, text=True, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"

"""The search algorithms and trial schedulers a search can use: one table each, from which the CLI takes its
choices and help. A new one is one entry here (its Ray Tune object is built when a search starts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from tunebench.search.options import SearchOptions
    from tunebench.search.plan import SearchPlan
    from tunebench.search.session import SearchSession


def _as_asked(swept: dict[str, Any], requested: int) -> int:
    return requested


def _once(swept: dict[str, Any], requested: int) -> int:
    return 1  # Tune runs every point of a grid_search once per sample


def _each_value(swept: dict[str, Any], requested: int) -> int:
    return sum(len(values) for values in swept.values())  # at most: each round keeps one value of its key


def _domains(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    return {**config, **swept}


def _grid_space(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    from ray import tune

    return {**config, **{k: tune.grid_search(list(v)) for k, v in swept.items()}}


def _fixed(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    return dict(config)  # the searcher suggests the swept keys itself


def _start_from_defaults(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    """Each round starts from the default where the report swept it, else from the first value."""
    return {**config, **{key: config[key] if config[key] in values else values[0] for key, values in swept.items()}}


def _unchanged(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    return config


def _nothing(config: dict[str, Any], swept: dict[str, Any]) -> dict[str, Any]:
    return {}  # the points are whole configurations (of rows of several benchmarks): nothing to merge them onto


def _one_at_a_time(config: dict[str, Any], swept: dict[str, Any]) -> list[dict[str, Any]]:
    """The start point, then each key's other values with every other key at the start (winners not carried)."""
    from tunebench.references import same_value

    return [{}] + [{key: value} for key, values in swept.items() for value in values
                   if not same_value(value, config[key])]


def _the_config(config: dict[str, Any], swept: dict[str, Any]) -> list[dict[str, Any]]:
    return [{}]


@dataclass(frozen=True)
class SearchMethod:
    """How configurations are proposed.

    searcher       builds the Ray Tune searcher
    report_values  sweeps the report's values (Benchmark.grid, swept keys as lists) instead of the search space
                   (Benchmark.space, Tune domains); --set a=1,2 restricts a key to a list or a choice accordingly
    scheduler      the scheduler used when none is given
    samples        (swept, --num-samples) -> the trials Tune is asked for
    space          (fixed config, swept) -> Tune's param_space
    start          (fixed config, swept) -> the config the first trial starts from
    may_end_early  the searcher can end the search before `samples` trials
    points         (start config, swept) -> the configurations to run, in order (a trial each; None: the searcher
                   proposes them); a study's rows come as the plan's own points
    sweeps         False: the method runs the config as given (--set takes one value per key)
    cli            offered by `tunebench search --search`
    """

    name: str
    help: str
    searcher: Callable[["SearchPlan", "SearchOptions"], Any]
    report_values: bool = False
    scheduler: str = "asha"
    samples: Callable[[dict[str, Any], int], int] = _as_asked
    space: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] = _domains
    start: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] = _unchanged
    may_end_early: bool = False
    points: Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]] | None = None
    sweeps: bool = True
    cli: bool = True


@dataclass(frozen=True)
class Scheduler:
    """When trials stop early."""

    name: str
    help: str
    build: Callable[["SearchPlan", "SearchOptions"], Any]


@dataclass(frozen=True)
class Sampler:
    """How Optuna proposes configurations (--search optuna --sampler NAME); build(seed) -> an Optuna sampler."""

    name: str
    help: str
    build: Callable[[int], Any]


def _tpe(seed: int):
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


SAMPLERS: dict[str, Sampler] = {s.name: s for s in (
    Sampler("tpe", "tree-structured Parzen estimator (the default)", _tpe),
)}


OPTUNA_DB = "optuna.db"


def optuna_storage(options: "SearchOptions") -> str:
    """Where an optuna search stores its study (one study per search, named as the search): optuna.db beside the
    MLflow store when that is an SQLite file, else in the search's storage folder (--storage-path)."""
    uri = options.tracking_uri
    mlflow_file = uri.removeprefix("sqlite:///").split("?", 1)[0] if uri.startswith("sqlite:///") else ""
    folder = Path(mlflow_file).parent if mlflow_file not in ("", ":memory:") else options.storage_path
    return f"sqlite:///{folder.expanduser().resolve() / OPTUNA_DB}"


def optuna_tags(session: "SearchSession") -> dict[str, str]:
    """A search's parent-run tags that say where its Optuna study is (none for other searches)."""
    from tunebench.tracking import Tag

    if session.plan.search != "optuna":
        return {}
    return {Tag.OPTUNA_STORAGE: optuna_storage(replace(session.options, storage_path=session.storage)),
            Tag.OPTUNA_STUDY: session.name}


def _optuna(plan: "SearchPlan", options: "SearchOptions"):
    """TPE. A search session's options name the search (tuner.build_tuner): its study is stored under that name in
    optuna_storage(options); without a name (a searcher built on its own) the study stays in memory."""
    import optuna

    from tunebench.search.optuna_searcher import DistinctOptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # Tune's table shows the trials
    if not options.name:
        return DistinctOptunaSearch(seed=options.seed)
    return DistinctOptunaSearch(seed=options.seed, study_name=options.name, storage_url=optuna_storage(options),
                                experiment=str(options.storage_path.expanduser().resolve() / options.name))


def _variants(seeded: bool):
    def build(plan: "SearchPlan", options: "SearchOptions"):
        from ray.tune.search import BasicVariantGenerator

        # Tune ignores TuneConfig's max_concurrent_trials for this searcher; it takes its own
        return BasicVariantGenerator(random_state=options.seed if seeded else None,
                                     max_concurrent=options.max_concurrent or 0)
    return build


def _coordinate(plan: "SearchPlan", options: "SearchOptions"):
    from tunebench.search.coordinate import CoordinateSearch

    return CoordinateSearch(plan.swept, plan.config)


def _points(plan: "SearchPlan", options: "SearchOptions"):
    from tunebench.search.points import PointSearch

    return PointSearch(plan.points)


ASHA_REDUCTION_FACTOR = 3  # a third of the trials at a rung go on to the next


def asha_rungs(plan: "SearchPlan", options: "SearchOptions") -> tuple[int, int] | None:
    """(grace period, reduction factor) of the search's ASHA; None when its scheduler stops no trial."""
    if plan.scheduler != "asha":
        return None
    return min(options.grace_period, plan.max_epochs), ASHA_REDUCTION_FACTOR


def _asha(plan: "SearchPlan", options: "SearchOptions"):
    from ray.tune.schedulers import ASHAScheduler

    grace, factor = asha_rungs(plan, options)
    return ASHAScheduler(time_attr="training_iteration", max_t=plan.max_epochs, grace_period=grace,
                         reduction_factor=factor)


def _fifo(plan: "SearchPlan", options: "SearchOptions"):
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


SEARCHES: dict[str, SearchMethod] = {m.name: m for m in (
    SearchMethod("optuna", "Optuna's TPE over the search space (the default)", _optuna),
    SearchMethod("random", "random draws from the search space", _variants(seeded=True)),
    SearchMethod("grid", "every combination of the report's values", _variants(seeded=False),
                 report_values=True, scheduler="fifo", samples=_once, space=_grid_space),
    SearchMethod("coordinate", "the report's 'keep the best, search the next': one key at a time over its values",
                 _coordinate, report_values=True, scheduler="fifo", samples=_each_value, space=_fixed,
                 start=_start_from_defaults, may_end_early=True),
    SearchMethod("oneway", "one key at a time over the report's values around the defaults, winners not carried",
                 _points, report_values=True, scheduler="fifo", space=_fixed, start=_start_from_defaults,
                 points=_one_at_a_time),
    SearchMethod("single", "one trial of the defaults (with --set's values)", _points, scheduler="fifo",
                 space=_fixed, points=_the_config, sweeps=False),
    SearchMethod("rows", "the configurations of a study's tables (tunebench study)", _points, scheduler="fifo",
                 space=_nothing, cli=False),
)}

SCHEDULERS: dict[str, Scheduler] = {s.name: s for s in (
    Scheduler("asha", "asynchronous successive halving: stops trials behind the others at rungs of epochs", _asha),
    Scheduler("fifo", "every trial runs all its epochs", _fifo),
)}


def choices_help(table: dict[str, Any], default: Callable[[Any], str] | None = None) -> str:
    """The CLI help of a table: 'name: help (default for ...)' per entry."""
    return "; ".join(f"{name}: {entry.help}{default(entry) if default else ''}" for name, entry in table.items())


def scheduler_default_note(scheduler: Scheduler) -> str:
    users = [m.name for m in SEARCHES.values() if m.scheduler == scheduler.name]
    return f" (default for {', '.join(users)})" if users else ""

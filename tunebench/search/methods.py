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


def _every_combination(config: dict[str, Any], swept: dict[str, Any]) -> list[dict[str, Any]]:
    import itertools

    return [dict(zip(swept, values)) for values in itertools.product(*swept.values())]


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
    combinations   (start config, swept) -> every configuration the method's space runs (the grid's product): where
                   the benchmark's conditions forbid some, the allowed ones run instead as the plan's points
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
    combinations: Callable[[dict[str, Any], dict[str, Any]], list[dict[str, Any]]] | None = None
    sweeps: bool = True
    cli: bool = True


@dataclass(frozen=True)
class Scheduler:
    """When trials stop early (or, pbt, how they change as they train). The builders are in schedulers.py.

    build          (plan, options) -> the Ray Tune scheduler
    check          (plan, benchmark name) -> None, or a one-line TunebenchError where the plan cannot run with it
    stops_trials   it stops weaker trials early (the search's estimate says its epochs are at most)
    """

    name: str
    help: str
    build: Callable[["SearchPlan", "SearchOptions"], Any]
    check: Callable[["SearchPlan", str], None] | None = None
    stops_trials: bool = False


@dataclass(frozen=True)
class Sampler:
    """How Optuna proposes configurations (--search optuna --sampler NAME).

    build           seed -> the Optuna sampler, seeded (Ray's OptunaSearch ignores its own seed beside a sampler)
    multi_objective it takes several --objective values (a Pareto front)
    categorical     what it does with a categorical key (tune.choice, --set k=a,b), said as a search starts when the
                    space has one ("" : it models them like the other keys)
    """

    name: str
    help: str
    build: Callable[[int], Any]
    multi_objective: bool = True
    categorical: str = ""


def _tpe(seed: int):
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def _gp(seed: int):
    import optuna

    return optuna.samplers.GPSampler(seed=seed)


def _cmaes(seed: int):
    import optuna

    # the categorical keys' fallback is said once as the search starts, not logged for every trial
    return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def _qmc(seed: int):
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # scrambled: --seed picks the sequence (an unscrambled Sobol sequence is the same for every seed)
        return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)


def _random_sampler(seed: int):
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


SAMPLERS: dict[str, Sampler] = {s.name: s for s in (
    Sampler("tpe", "tree-structured Parzen estimator (the default): every kind of key, one or several objectives",
            _tpe),
    Sampler("gp", "Gaussian process with expected improvement: sample-efficient for tens of trials over continuous "
                  "keys (categorical ones too), one or several objectives; slower to propose as trials accumulate",
            _gp),
    Sampler("cmaes", "CMA-ES over the continuous and integer keys, one objective only; categorical keys are drawn "
                     "independently at random (a space of categorical keys only is a random search)", _cmaes,
            multi_objective=False,
            categorical="CMA-ES models continuous and integer keys only: {keys} drawn independently at random"),
    Sampler("qmc", "scrambled Sobol quasi-random sequence: spreads the trials evenly over the space and learns "
                   "nothing from them (a better-spread random search)", _qmc),
    Sampler("random", "Optuna's independent uniform draws (--search random is Ray Tune's)", _random_sampler),
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
    """The plan's Optuna sampler (seeded with --seed), on the plan's objectives when there are several (a
    multi-objective study; with one, Tune's metric is the searcher's). A search session's options name the search
    (tuner.build_tuner): its study is stored under that name in optuna_storage(options); without a name (a searcher
    built on its own) the study stays in memory."""
    import optuna

    from tunebench import console
    from tunebench.search.optuna_searcher import DistinctOptunaSearch

    optuna.logging.set_verbosity(console.library_log_level())  # its per-trial lines and warnings: --verbose
    sampler = SAMPLERS[plan.sampler]
    categorical = [key for key in plan.swept if plan.values(key)]
    if sampler.categorical and categorical:
        console.say("note: " + sampler.categorical.format(keys=", ".join(categorical)))
    arguments: dict[str, Any] = dict(sampler=sampler.build(options.seed))
    if plan.multi_objective:
        arguments.update(metric=[metric for metric, _ in plan.objectives], mode=[mode for _, mode in plan.objectives])
    if plan.conditions:  # a define-by-run space: a conditioned key suggested only where it is active
        arguments.update(conditions=plan.conditions, fixed=plan.config)
    if plan.warm:  # --warm-start: the report's configurations first, or earlier searches' trials told at setup
        arguments.update(points_to_evaluate=[dict(p) for p in plan.warm.points] or None,
                         evaluated=list(plan.warm.evaluated))
    if not options.name:
        return DistinctOptunaSearch(**arguments)
    return DistinctOptunaSearch(study_name=options.name, storage_url=optuna_storage(options),
                                experiment=str(options.storage_path.expanduser().resolve() / options.name),
                                **arguments)


def _variants(seeded: bool):
    def build(plan: "SearchPlan", options: "SearchOptions"):
        from ray.tune.search import BasicVariantGenerator

        if plan.points:  # a grid whose forbidden combinations the conditions took out
            return _points(plan, options)
        # Tune ignores TuneConfig's max_concurrent_trials for this searcher; it takes its own
        arguments = dict(random_state=options.seed if seeded else None, max_concurrent=options.max_concurrent or 0,
                         points_to_evaluate=[dict(p) for p in plan.warm.points] if plan.warm else None)
        if plan.conditions:  # each draw resolved: an inactive key at its default
            from tunebench.search.conditional import ConditionalVariants

            return ConditionalVariants(plan.conditions, **arguments)
        return BasicVariantGenerator(**arguments)
    return build


def _coordinate(plan: "SearchPlan", options: "SearchOptions"):
    from tunebench.search.coordinate import CoordinateSearch

    return CoordinateSearch(plan.swept, plan.config, conditions=plan.conditions)


def _points(plan: "SearchPlan", options: "SearchOptions"):
    from tunebench.search.points import PointSearch

    return PointSearch(plan.points)


ASHA_REDUCTION_FACTOR = 3  # a third of the trials at a rung go on to the next


def asha_rungs(plan: "SearchPlan", options: "SearchOptions") -> tuple[int, int] | None:
    """(grace period, reduction factor) of the search's ASHA; None when its scheduler is not ASHA."""
    if plan.scheduler != "asha":
        return None
    return min(options.grace_period, plan.max_epochs), ASHA_REDUCTION_FACTOR


def _scheduling(name: str) -> Callable[..., Any]:
    """schedulers.<name>, imported when called: that module imports Ray, and the CLI reads these tables without it."""
    def call(*args: Any) -> Any:
        from tunebench.search import schedulers

        return getattr(schedulers, name)(*args)
    call.__name__ = name
    return call


SEARCHES: dict[str, SearchMethod] = {m.name: m for m in (
    SearchMethod("optuna", "Optuna's sampler (--sampler, TPE by default) over the search space (the default)",
                 _optuna),
    SearchMethod("random", "random draws from the search space", _variants(seeded=True)),
    SearchMethod("grid", "every combination of the report's values", _variants(seeded=False),
                 report_values=True, scheduler="fifo", samples=_once, space=_grid_space,
                 combinations=_every_combination),
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
    Scheduler("asha", "asynchronous successive halving: stops trials behind the others at rungs of epochs",
              _scheduling("asha"), stops_trials=True),
    Scheduler("hyperband", "Hyperband: brackets of successive halving up to --max-epochs; a trial waits (paused) at "
                           "a rung for its bracket, a third go on", _scheduling("hyperband"), stops_trials=True),
    Scheduler("bohb", "Hyperband's brackets (without pipelining) with --search optuna's TPE proposing the trials, "
                      "the model-based half of BOHB", _scheduling("hyperband_for_bohb"),
              check=_scheduling("check_bohb"), stops_trials=True),
    Scheduler("median", "median stopping rule: a trial whose best is below the median of the others' running "
                        "means at its epoch stops", _scheduling("median"), stops_trials=True),
    Scheduler("pbt", "population-based training (--search random): every quarter of --max-epochs the bottom "
                     "quarter of the trials continues from a top trial's checkpoint with its continuous "
                     "hyperparameters perturbed; each exploit recorded on the trial's MLflow run",
              _scheduling("pbt"), check=_scheduling("check_pbt")),
    Scheduler("fifo", "every trial runs all its epochs", _scheduling("fifo")),
)}


def choices_help(table: dict[str, Any], default: Callable[[Any], str] | None = None) -> str:
    """The CLI help of a table: 'name: help (default for ...)' per entry."""
    return "; ".join(f"{name}: {entry.help}{default(entry) if default else ''}" for name, entry in table.items())


def scheduler_default_note(scheduler: Scheduler) -> str:
    users = [m.name for m in SEARCHES.values() if m.scheduler == scheduler.name]
    return f" (default for {', '.join(users)})" if users else ""

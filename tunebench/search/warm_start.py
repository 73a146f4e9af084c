"""--warm-start: a search that starts from what is already known of its benchmark.

report           the report's configurations (Benchmark.reference) run first, best published figure first:
                 restricted to the swept keys and made valid for the space (a number clipped into its range; a
                 configuration with a value the space's choice lacks left out), the conditions applied, each once.
                 Optuna enqueues them (Ray's points_to_evaluate); a random search runs them as its first samples.
mlflow[:SEARCH]  the finished trials of this benchmark's earlier searches in the MLflow store (SEARCH: one search, by
                 its parent run id or name) that this search could have run: each swept key present and inside the
                 space, the conditions holding, every other setting this search fixes the same (the seed aside).
                 Optuna's sampler is told each one's last value of the search's metric (of each objective, for a
                 multi-objective search), what Optuna was told when it ran, before the first trial; the searcher
                 knows their configurations' results, so it does not train one again (optuna_searcher).

The searcher gets them once, as Ray Tune sets it up; a resumed search's searcher has them in the state Ray Tune
saved. The parent run's `warm_start` tag says what was used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from tunebench import TunebenchError, console
from tunebench.benchmark import Benchmark, Conditions
from tunebench.references import headline, same_value
from tunebench.tracking import Tag, Tracker, tag

if TYPE_CHECKING:
    from tunebench.search.options import SearchOptions
    from tunebench.search.plan import SearchPlan

SOURCES = {"report": ("optuna", "random"), "mlflow": ("optuna",)}  # each source: the searches that take it
UNCOMPARED = frozenset({"seed", "workers"})  # settings whose value does not make an earlier trial another experiment


@dataclass(frozen=True)
class WarmStart:
    note: str                                         # what it used, on the parent run: "report: 6 configurations"
    points: tuple[dict[str, Any], ...] = ()           # configurations the first trials run (report)
    evaluated: tuple[tuple[dict[str, Any], Any], ...] = ()  # (swept values, value or values) the sampler is told


def parse(text: str) -> tuple[str, str | None]:
    """'report' | 'mlflow' | 'mlflow:SEARCH' -> (source, search or None)."""
    source, colon, search = text.partition(":")
    if source not in SOURCES or (colon and (source != "mlflow" or not search.strip())):
        raise TunebenchError(f"--warm-start {text}: expected report, mlflow or mlflow:SEARCH (a search's run id or "
                             f"name)")
    return source, search.strip() or None


def warm_start(benchmark: Benchmark, plan: SearchPlan, options: SearchOptions, tracker: Tracker,
               say: Callable[[str], None] = console.say, exclude: tuple[str, ...] = ()) -> WarmStart | None:
    """The plan's warm start (None without --warm-start), said in one line; a one-line error when there is
    nothing to start from. `exclude`: parent runs not to read (a resumed search's own)."""
    if not options.warm_start:
        return None
    source, search = parse(options.warm_start)
    if plan.search not in SOURCES[source]:
        raise TunebenchError(f"--warm-start {source}: for --search {' or '.join(SOURCES[source])}, not --search "
                             f"{plan.search}")
    if source == "report":
        points = report_points(benchmark, plan)
        first = f" (the first {plan.num_samples} of them: --num-samples)" if len(points) > plan.num_samples else ""
        say(f"warm start: the report's {len(points)} configuration{'s' * (len(points) != 1)} run first{first}")
        return WarmStart(f"report: {len(points)} configuration{'s' * (len(points) != 1)}", points=tuple(points))
    evaluated, used, skipped = earlier_trials(benchmark, plan, tracker, search, exclude)
    others = f" ({skipped} other finished trials outside this search's space or settings)" if skipped else ""
    say(f"warm start: {len(evaluated)} trial{'s' * (len(evaluated) != 1)} of {len(used)} earlier "
        f"search{'es' * (len(used) != 1)} of {benchmark.name} ({', '.join(used)}) given to the sampler{others}")
    return WarmStart(f"mlflow: {len(evaluated)} trials of runs {', '.join(used)}", evaluated=tuple(evaluated))


def report_points(benchmark: Benchmark, plan: SearchPlan) -> list[dict[str, Any]]:
    """The report's configurations as points of this search's space, best published figure first, each once."""
    if not benchmark.reference:
        raise TunebenchError(f"--warm-start report: {benchmark.name} has no report figures to start from "
                             f"(--warm-start mlflow starts from earlier searches)")

    def best_first(reference) -> float:
        key = headline(reference.figures)
        value = reference.figures.get(key) if key else None
        return -value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.inf

    points = []
    for reference in sorted(benchmark.reference, key=best_first):
        point = {key: in_domain(domain, reference.config.get(key, plan.config.get(key)), clip=True)
                 for key, domain in plan.swept.items()}
        if all(value is not OUTSIDE for value in point.values()):
            points.append(point)
    points = (plan.conditions or Conditions()).distinct(plan.config, points)
    if not points:
        raise TunebenchError(f"--warm-start report: none of the report's {len(benchmark.reference)} configurations "
                             f"of {benchmark.name} lies in this search's space")
    return points


def earlier_trials(benchmark: Benchmark, plan: SearchPlan, tracker: Tracker, search: str | None,
                   exclude: tuple[str, ...] = ()) -> tuple[list[tuple[dict[str, Any], Any]], list[str], int]:
    """(the trials this search could have run, each (swept values, value or values); the parent runs they came
    from; how many other finished trials were left out)."""
    import pandas as pd

    from tunebench.reports import parse_param

    searches = tracker.searches([benchmark.name])
    where = f"{benchmark.name} in {tracker.uri}"
    if len(searches):
        searches = searches[~searches["run_id"].isin(exclude)]
        if tag(Tag.DATASET) in searches:  # the recipe on the user's own images is another experiment
            dataset = searches[tag(Tag.DATASET)]
            searches = searches[dataset.isna() | (dataset == benchmark.dataset)]
    if not len(searches):
        raise TunebenchError(f"--warm-start mlflow: no earlier search of {where}")
    if search is not None:
        names = searches.get(tag(Tag.RUN_NAME), pd.Series(None, index=searches.index, dtype=object))
        searches = searches[(searches["run_id"] == search) | (names == search)]
        if not len(searches):
            raise TunebenchError(f"--warm-start mlflow:{search}: no search of {where} has that run id or name")
    metrics = [metric for metric, _ in plan.objectives] or [benchmark.metric]
    compared = [key for key in plan.config if key not in plan.swept and key not in UNCOMPARED
                and (key in benchmark.defaults or key in ("model", "epochs"))]
    evaluated: list[tuple[dict[str, Any], Any]] = []
    used: list[str] = []
    finished = 0
    for _, parent in searches.sort_values("start_time").iterrows():
        trials = tracker.trials_of(parent["experiment_id"], parent["run_id"])
        if not len(trials):
            continue
        trials = trials[trials["status"] == "FINISHED"]
        finished += len(trials)
        before = len(evaluated)
        for _, trial in trials.iterrows():
            params = {key: parse_param(trial.get(f"params.{key}")) for key in (*plan.swept, *compared)}
            values = {key: in_domain(domain, params[key]) for key, domain in plan.swept.items()}
            scores = [trial.get(f"metrics.{metric}") for metric in metrics]
            if (any(value is OUTSIDE for value in values.values())
                    or any(not same_value(params[key], plan.config[key]) for key in compared)
                    or any(score is None or pd.isna(score) for score in scores)
                    or (plan.conditions and not _allowed(plan.conditions, plan.config, values))):
                continue
            evaluated.append((values, [float(s) for s in scores] if plan.multi_objective else float(scores[0])))
        if len(evaluated) > before:
            used.append(parent["run_id"])
    if not evaluated:
        raise TunebenchError(f"--warm-start mlflow: no finished trial of an earlier search of {where} that this "
                             f"search could have run ({finished} finished trials of {len(searches)} searches read: "
                             f"none with its swept keys in this space and its other settings)")
    return evaluated, used, finished - len(evaluated)


def _allowed(conditions: Conditions, config: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """The values are a configuration the conditions allow (an inactive key at its inactive value)."""
    full = {**config, **values}
    return all(same_value(conditions.apply(full)[key], value) for key, value in values.items())


OUTSIDE = object()  # in_domain's answer for a value the domain does not hold


def in_domain(domain: Any, value: Any, clip: bool = False) -> Any:
    """The value as the Tune domain holds it (a choice's own category, a float, an int), or OUTSIDE; with `clip`
    a number beyond a range's bounds is brought to the nearer bound."""
    from ray.tune.search.sample import Categorical, Float, Integer, Quantized

    if isinstance(domain, Categorical):
        return next((category for category in domain.categories if same_value(category, value)), OUTSIDE)
    if not isinstance(domain, (Float, Integer)) or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or math.isnan(value):
        return OUTSIDE
    low, high = domain.lower, domain.upper
    if isinstance(domain, Integer):
        high = high if isinstance(domain.get_sampler(), Quantized) else high - 1  # randint: upper bound exclusive
        if not float(value).is_integer():
            if not clip:
                return OUTSIDE
            value = round(value)
    if clip:
        value = min(max(value, low), high)
    elif not (low <= value <= high or same_value(value, low) or same_value(value, high)):
        return OUTSIDE
    return int(value) if isinstance(domain, Integer) else float(value)

"""Planning a search: from a Benchmark and the options, the fixed config every trial shares, what is swept, how,
and how many trials of how many epochs (SearchPlan). Names are checked here, before anything starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunebench import TunebenchError
from tunebench.benchmark import Benchmark, Conditions
from tunebench.search.methods import SAMPLERS, SCHEDULERS, SEARCHES, SearchMethod
from tunebench.search.options import DEFAULT_NUM_SAMPLES, SearchOptions


@dataclass
class SearchPlan:
    """What will run: the fixed config every trial shares, what is swept, and how."""

    config: dict[str, Any]           # fixed values of every hyperparameter (swept ones: their start value)
    swept: dict[str, Any]            # key -> Tune domain (optuna/random) or list of values (grid/coordinate)
    search: str
    scheduler: str
    num_samples: int
    max_epochs: int
    points: list[dict[str, Any]] = field(default_factory=list)  # configurations to run in order (method.points)
    sampler: str = "tpe"             # --search optuna's sampler (methods.SAMPLERS)
    objectives: tuple[tuple[str, str], ...] = ()  # (metric, mode) of each --objective, aliases resolved; (): none given
    # the benchmark's conditions that involve a swept key: the searcher applies them to each configuration it proposes
    conditions: Conditions = field(default_factory=Conditions)
    warm: Any = None                 # --warm-start's points and trials (search.warm_start.WarmStart), set at the start

    @property
    def label(self) -> str:
        """The search method as the start line, the parent run's description and the reports say it: "optuna (gp)"."""
        return f"{self.search} ({self.sampler})" if self.search == "optuna" else self.search

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def method(self) -> SearchMethod:
        return SEARCHES[self.search]

    def param_space(self) -> dict[str, Any]:
        if self.points and self.method.combinations:  # a grid that skips forbidden combinations: its points run
            return dict(self.config)
        return self.method.space(self.config, self.swept)

    def values(self, key: str) -> list[Any]:
        """Every value `key` can take in this search: the report's list, a choice's categories, or the fixed
        value; [] for a continuous range, which has no list."""
        swept = self.swept.get(key)
        if swept is None:
            return [self.config.get(key)]
        if isinstance(swept, (list, tuple)):
            return list(swept)
        return list(getattr(swept, "categories", []))

    def models(self) -> list[str]:
        """The registered models the trials build (none for a feature-extractor study)."""
        return [] if "extractor" in self.config else [m for m in self.values("model") if m]

    def weight_sources(self) -> list[str]:
        """The torchvision models whose ImageNet weights the trials' models and extractors load with
        weights=imagenet: prefetch fetches them all, a search those of its trials before any trial starts."""
        from tunebench.models import extractor_sources, imagenet_sources

        names = {source for e in self.values("extractor") if e for source in extractor_sources(e)}
        for model in self.models():
            for backbone in self.values("backbone"):
                names.update(imagenet_sources(model, {"backbone": backbone} if backbone else {}))
        return sorted(names)


def plan_search(benchmark: Benchmark, options: SearchOptions) -> SearchPlan:
    from ray import tune

    if options.search not in SEARCHES:
        raise TunebenchError(f"unknown search '{options.search}' (one of {', '.join(SEARCHES)})")
    method = SEARCHES[options.search]
    objectives = check_objectives(options)
    # ASHA would stop trials by the first objective alone and leave their other values half-measured
    scheduler = options.scheduler or ("fifo" if len(objectives) > 1 else method.scheduler)
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
    source = benchmark.grid if method.report_values else benchmark.tune_space()
    if method.report_values and not benchmark.grid:
        raise TunebenchError(f"{benchmark.name} has no grid of the report's values: use --search optuna or random")
    swept = {k: v for k, v in source.items() if k not in fixed} if method.sweeps else {}
    for key, values in options.overrides.items():
        if len(values) > 1 and not method.sweeps:
            raise TunebenchError(f"--search {method.name} runs one configuration: give --set {key} one value")
        if len(values) > 1:
            swept[key] = list(values) if method.report_values else tune.choice(list(values))
    if "split" in swept:
        raise TunebenchError("--set split: the dataset is split once per search; give one value")
    rules = benchmark.condition_rules()
    config = rules.apply(method.start({**benchmark.defaults, **fixed}, swept))
    config.setdefault("model", benchmark.model)
    config.update(epochs=max_epochs, seed=options.seed)
    conditions = rules.among(swept)
    points = method.points(config, swept) if method.points else []
    if conditions and method.points:
        points = conditions.distinct(config, points)
    if conditions and method.combinations:  # the grid: only its allowed combinations, each once
        every = method.combinations(config, swept)
        allowed = conditions.distinct(config, every)
        points = allowed if allowed != every else []
    plan = SearchPlan(config, swept, options.search, scheduler,
                      len(points) if method.points or points else method.samples(swept, num_samples), max_epochs,
                      points, options.sampler, objectives, conditions=conditions)
    check_names(plan)
    if SCHEDULERS[scheduler].check:  # bohb with optuna only; pbt with random and continuous keys
        SCHEDULERS[scheduler].check(plan, benchmark.name)
    return plan


def check_objectives(options: SearchOptions) -> tuple[tuple[str, str], ...]:
    """--sampler and --objective: a known sampler (of --search optuna only), per-epoch metrics with min or max, a
    sampler that takes several; the objectives with aliases resolved. One-line errors before anything starts."""
    from tunebench.trials import EPOCH_METRICS, OBJECTIVE_ALIASES, objective_metric

    if options.sampler not in SAMPLERS:
        raise TunebenchError(f"unknown sampler '{options.sampler}' (one of {', '.join(SAMPLERS)})")
    if options.sampler != "tpe" and options.search != "optuna":
        raise TunebenchError(f"--sampler {options.sampler} is a sampler of --search optuna, not of --search "
                             f"{options.search}")
    objectives = []
    for name, mode in options.objectives:
        metric = objective_metric(name)
        if metric is None:
            known = ", ".join([*EPOCH_METRICS, *OBJECTIVE_ALIASES])
            raise TunebenchError(f"--objective {name}: no trial reports it (one of {known})")
        if mode not in ("min", "max"):
            raise TunebenchError(f"--objective {name}:{mode}: the mode is min or max")
        objectives.append((metric, mode))
    if len({metric for metric, _ in objectives}) < len(objectives):
        raise TunebenchError(f"--objective {','.join(f'{n}:{m}' for n, m in options.objectives)}: a metric given "
                             f"twice")
    if len(objectives) > 1 and options.search == "optuna" and not SAMPLERS[options.sampler].multi_objective:
        raise TunebenchError(f"--sampler {options.sampler} optimises one objective; with several --objective "
                             f"values use one of {', '.join(s.name for s in SAMPLERS.values() if s.multi_objective)}")
    return tuple(objectives)


def with_objective(benchmark: Benchmark, plan: SearchPlan) -> Benchmark:
    """The benchmark as this search optimises it: the first --objective as its metric and mode (Tune's metric for
    schedulers and checkpoints, the results table's order, the best trial, the parent run's metric tag)."""
    from dataclasses import replace

    if not plan.objectives or plan.objectives[0] == (benchmark.metric, benchmark.mode):
        return benchmark
    metric, mode = plan.objectives[0]
    return replace(benchmark, metric=metric, mode=mode)


def check_names(plan: SearchPlan) -> None:
    """Models and feature extractors named in the plan exist: a one-line error before any trial starts."""
    from tunebench.models import MODELS, extractor_names

    for model in plan.models():
        MODELS.spec(model)
    for extractor in plan.values("extractor"):
        if extractor is not None and extractor not in extractor_names():
            raise TunebenchError(f"--set extractor={extractor}: unknown (one of {', '.join(extractor_names())})")

"""Planning a search: from a Benchmark and the options, the fixed config every trial shares, what is swept, how,
and how many trials of how many epochs (SearchPlan). Names are checked here, before anything starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunebench import TunebenchError
from tunebench.benchmark import Benchmark
from tunebench.search.methods import SCHEDULERS, SEARCHES, SearchMethod
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

    @property
    def method(self) -> SearchMethod:
        return SEARCHES[self.search]

    def param_space(self) -> dict[str, Any]:
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
    scheduler = options.scheduler or method.scheduler
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
    config = method.start({**benchmark.defaults, **fixed}, swept)
    config.setdefault("model", benchmark.model)
    config.update(epochs=max_epochs, seed=options.seed)
    points = method.points(config, swept) if method.points else []
    plan = SearchPlan(config, swept, options.search, scheduler,
                      len(points) if method.points else method.samples(swept, num_samples), max_epochs, points)
    check_names(plan)
    return plan


def check_names(plan: SearchPlan) -> None:
    """Models and feature extractors named in the plan exist: a one-line error before any trial starts."""
    from tunebench.models import MODELS, extractor_names

    for model in plan.models():
        MODELS.spec(model)
    for extractor in plan.values("extractor"):
        if extractor is not None and extractor not in extractor_names():
            raise TunebenchError(f"--set extractor={extractor}: unknown (one of {', '.join(extractor_names())})")

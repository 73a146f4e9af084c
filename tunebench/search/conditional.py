"""A benchmark's conditions (`Benchmark.conditions`: freeze_depth=when(weights="imagenet")) as the searchers that
sample apply them; the grid, coordinate and oneway apply `Conditions` to their lists of configurations (plan.py,
coordinate.py).

- Optuna (`ConditionalSpace`): a define-by-run space. Each trial suggests the keys a condition is on first and a
  conditioned key only where its condition holds, so the sampler models it only there; elsewhere the trial
  returns the key's inactive value (the benchmark's default), which Optuna never sees as a parameter.
- Ray Tune's random search (`ConditionalVariants`): each conditioned key's domain wrapped (`ConditionalDomain`):
  drawn, with the search's seeded random state, only once the keys it depends on are drawn and where its
  condition holds; its inactive value elsewhere.
"""

from __future__ import annotations

from typing import Any, Mapping

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from ray.tune.search import BasicVariantGenerator
from ray.tune.search.sample import Domain

from tunebench.benchmark import Conditions


def suggest(trial: Any, key: str, distribution: BaseDistribution) -> Any:
    """Optuna's suggest_* for a distribution (Ray's OptunaSearch records what suggest_* returns)."""
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(key, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(key, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(key, distribution.low, distribution.high, step=distribution.step,
                                   log=distribution.log)
    raise TypeError(f"{key}: no suggest_* for {type(distribution).__name__}")


class ConditionalSpace:
    """An Optuna define-by-run space (Ray's OptunaSearch calls it with each trial) over `distributions` (the swept
    keys) that applies `conditions` on top of the fixed `config`. A trial's config: the active swept keys as
    suggested, every other swept or conditioned key at its resolved value. Picklable: Ray Tune saves it with the
    searcher."""

    def __init__(self, distributions: Mapping[str, BaseDistribution], config: Mapping[str, Any],
                 conditions: Conditions) -> None:
        self.distributions = dict(distributions)
        self.config = dict(config)
        self.conditions = conditions
        self.order = conditions.order(self.distributions)
        self.resolved = [k for k in conditions.rules if k in self.config and k not in self.distributions]

    def __call__(self, trial: Any) -> dict[str, Any]:
        values, returned = dict(self.config), {}
        for key in self.order:
            if self.conditions.active(key, values):
                values[key] = suggest(trial, key, self.distributions[key])
            else:
                values[key] = returned[key] = self.conditions.inactive[key]
        full = self.conditions.apply(values)
        returned.update((key, full[key]) for key in self.resolved)
        return returned

    def proposal(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """For the swept keys' `values` (an earlier trial's): (the config a trial proposing them returns, the
        parameters Optuna would have been given), as __call__ makes them."""
        full = self.conditions.apply({**self.config, **values})
        params = {key: full[key] for key in self.order if self.conditions.active(key, full)}
        return {key: full[key] for key in [*self.order, *self.resolved]}, params

    def distributions_of(self, params: Mapping[str, Any]) -> dict[str, BaseDistribution]:
        return {key: self.distributions[key] for key in params}


def wrap(config: Mapping[str, Any], conditions: Conditions) -> dict[str, Any]:
    """A Tune param_space with each conditioned key's domain (or fixed value) wrapped in a ConditionalDomain."""
    return {key: ConditionalDomain(value, conditions.rules[key], conditions.inactive[key])
            if key in conditions.rules and not isinstance(value, ConditionalDomain) else value
            for key, value in config.items()}


class ConditionalDomain(Domain):
    """A Tune domain (or a fixed value) drawn only where `rule` holds for the config drawn so far; `inactive`
    elsewhere. Before the keys the rule is on are drawn it raises Tune's RecursiveDependencyError, without drawing
    anything, and Tune tries it again after the others: the draws stay those of the seeded random state."""

    def __init__(self, inner: Any, rule: Any, inactive: Any) -> None:
        self.inner, self.rule, self.inactive = inner, rule, inactive

    def sample(self, config: Any = None, size: int = 1, random_state: Any = None) -> Any:
        spec = config.config if "config" in config and isinstance(dict.get(config, "config"), dict) else config
        parents = {key: getattr(spec, key) for key in self.rule.keys}  # unresolved: RecursiveDependencyError
        if not self.rule.holds(parents):
            return self.inactive
        if isinstance(self.inner, Domain):
            return self.inner.sample(config, size=size, random_state=random_state)
        return self.inner

    def is_valid(self, value: Any) -> bool:
        return self.inner.is_valid(value) if isinstance(self.inner, Domain) else True

    @property
    def domain_str(self) -> str:
        inner = self.inner.domain_str if isinstance(self.inner, Domain) else repr(self.inner)
        return f"{inner} where {self.rule.describe()} (else {self.inactive!r})"


class ConditionalVariants(BasicVariantGenerator):
    """Ray Tune's random search (BasicVariantGenerator) with the conditions applied to each draw."""

    def __init__(self, conditions: Conditions, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conditions = conditions

    def add_configurations(self, experiments: Any) -> None:
        from ray.tune.experiment import _convert_to_experiment_list

        experiment_list = _convert_to_experiment_list(experiments)
        for experiment in experiment_list:
            experiment.spec["config"] = wrap(experiment.spec.get("config", {}), self.conditions)
        super().add_configurations(experiment_list)

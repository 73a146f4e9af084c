"""The Benchmark contract every search-space module follows, and how a user module is loaded."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from tunebench import TunebenchError
from tunebench.references import Reference


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


_TUNE_DOMAINS = ("choice", "uniform", "quniform", "loguniform", "qloguniform", "randn", "qrandn", "randint",
                 "qrandint", "lograndint", "qlograndint")


@dataclass(frozen=True, eq=False)
class TuneDomain:
    """A Ray Tune domain written down without importing Ray: `tune.loguniform(1e-3, 0.1)` in a search-space file
    that says `from tunebench.benchmark import tune`. Commands that read records (compare, report) load every
    benchmark and never search, and Ray takes seconds to import; `built()` makes the real domain when a search
    needs it. A file may use Ray's own `from ray import tune` instead."""

    function: str
    args: tuple
    kwargs: Mapping[str, Any]

    def built(self) -> Any:
        from ray import tune as ray_tune

        return getattr(ray_tune, self.function)(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        arguments = [*map(repr, self.args), *(f"{k}={v!r}" for k, v in self.kwargs.items())]
        return f"tune.{self.function}({', '.join(arguments)})"


class _DeferredTune:
    """Ray Tune's domain functions (choice, uniform, loguniform, randint, ...) that return TuneDomains."""

    def __getattr__(self, function: str):
        if function not in _TUNE_DOMAINS:
            raise AttributeError(f"tune.{function}: not a Ray Tune domain tunebench defers "
                                 f"({', '.join(_TUNE_DOMAINS)})")
        return lambda *args, **kwargs: TuneDomain(function, args, kwargs)


tune = _DeferredTune()


def tune_domains(space: Mapping[str, Any]) -> dict[str, Any]:
    """A search space with Ray Tune's domains: TuneDomains built, anything else as it is."""
    return {key: value.built() if isinstance(value, TuneDomain) else value for key, value in space.items()}


@dataclass(frozen=True)
class When:
    """A condition on other keys of a configuration: it holds when each named key takes its value (or one of its
    values). Written `when(weights="imagenet")` or `when(weights="imagenet", model=("resnet50", "resnet50-modified"))`."""

    values: tuple[tuple[str, tuple], ...]  # (key, the values it may take) per key

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.values)

    def holds(self, config: Mapping[str, Any]) -> bool:
        from tunebench.references import same_value

        return all(any(same_value(config.get(key), value) for value in allowed) for key, allowed in self.values)

    def describe(self) -> str:
        """weights=imagenet, model in (resnet50, resnet50-modified)"""
        return ", ".join(f"{key}={allowed[0]}" if len(allowed) == 1 else f"{key} in ({', '.join(map(str, allowed))})"
                         for key, allowed in self.values)

    def __repr__(self) -> str:
        return "when(" + ", ".join(f"{key}={allowed[0] if len(allowed) == 1 else allowed!r}" for key, allowed
                                   in self.values) + ")"


def when(**values: Any) -> When:
    """The condition of a benchmark's `conditions` entry: `conditions=dict(freeze_depth=when(weights="imagenet"))`
    searches freeze_depth only when weights is "imagenet" (a list or tuple: any of its values); otherwise the key
    takes its value from `defaults`."""
    if not values:
        raise ValueError('when(): name the keys the condition is on, e.g. when(weights="imagenet")')
    return When(tuple((key, tuple(value) if isinstance(value, (list, tuple)) else (value,))
                      for key, value in values.items()))


@dataclass(frozen=True)
class Conditions:
    """A benchmark's conditions as a search applies them (plain dicts: a searcher's state is pickled with them).

    rules     key -> When: the key is searched (takes its searched or given value) only where its condition holds;
              in dependency order (a condition on a conditioned key comes after that key's own)
    inactive  key -> the value it takes where its condition does not hold (the benchmark's default)
    """

    rules: dict[str, When] = field(default_factory=dict)
    inactive: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def active(self, key: str, config: Mapping[str, Any]) -> bool:
        rule = self.rules.get(key)
        return rule is None or rule.holds(config)

    def apply(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration with every inactive key at its inactive value (parents resolved first)."""
        resolved = dict(config)
        for key, rule in self.rules.items():
            if key in resolved and not rule.holds(resolved):
                resolved[key] = self.inactive[key]
        return resolved

    def among(self, keys: Any) -> Conditions:
        """The rules a search over `keys` must apply as it proposes: those of a key in `keys` or on one (a rule of
        fixed keys only is applied once, to the fixed config)."""
        keys = set(keys)
        rules = {k: r for k, r in self.rules.items() if k in keys or keys & set(r.keys)}
        return Conditions(rules, {k: self.inactive[k] for k in rules})

    def order(self, keys: Any) -> list[str]:
        """`keys` with each conditioned key after the keys its condition is on (otherwise in the given order)."""
        keys = list(keys)
        plain = [k for k in keys if k not in self.rules]
        return plain + [k for k in self.rules if k in keys]

    def distinct(self, config: Mapping[str, Any], points: Any) -> list[dict[str, Any]]:
        """Points (partial configurations over `config`) with the conditions applied, in order, each configuration
        once: a forbidden combination becomes the allowed one, then a repeat of an earlier point is dropped."""
        from tunebench.references import same_value

        seen, allowed = set(), []
        for point in points:
            full = self.apply({**config, **point})
            key = repr(sorted((k, repr(v)) for k, v in full.items()))
            if key not in seen:
                seen.add(key)
                allowed.append({k: v for k, v in full.items() if k in point or not same_value(v, config.get(k))})
        return allowed


@dataclass(frozen=True)
class Benchmark:
    """One study: a model on a dataset, its defaults, search space and the report's values.

    defaults  every hyperparameter the trainable reads, with the report's default value
    space     Ray Tune domains (tune.loguniform, tune.choice, ...) for Optuna / random search; the shipped
              spaces defer them (this module's `tune`) so that reading records imports no Ray: tune_space()
    grid      the report's exact values per hyperparameter, in the order the report swept them
              (used by --search grid and --search coordinate)
    reference the report's published figures, each tied to the whole configuration that produced them
              (study.Reference): the shipped registry fills it from the studies (search_spaces/studies)
    smoke     overrides for --smoke (tiny images, few images per class, few epochs and samples)
    trainer   how a trial trains: "epochs" (a step per epoch) or "feature-svm" (report 000's frozen features + SVM)
    conditions key -> when(other=value, ...): the key is searched only where the other keys take those values, and
              takes its default elsewhere (freeze_depth=when(weights="imagenet"): no frozen stages of random weights);
              every search honours them (optuna models the key only where it is active; the grid, coordinate and
              oneway never run a forbidden combination; random resolves each draw)
    A `model` key in defaults makes the model itself a hyperparameter; `split` is fixed per search (the
    dataset is split once, before the trials).
    """

    name: str
    seed_report: str
    dataset: str
    model: str
    max_epochs: int
    defaults: Mapping[str, Any]
    space: Mapping[str, Any]
    grid: Mapping[str, tuple] = field(default_factory=dict)
    reference: tuple[Reference, ...] = ()
    smoke: Mapping[str, Any] = field(default_factory=dict)
    metric: str = "val_acc"
    mode: str = "max"
    description: str = ""
    trainer: str = "epochs"
    conditions: Mapping[str, When] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference", tuple(self.reference))
        for name in ("defaults", "space", "grid", "smoke", "conditions"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        unknown = (set(self.space) | set(self.grid)) - set(self.defaults)
        if unknown:
            raise ValueError(f"{self.name}: space/grid keys without a default: {sorted(unknown)}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"{self.name}: mode must be 'min' or 'max'")
        self.condition_rules()  # checked as the benchmark is declared

    def tune_space(self) -> dict[str, Any]:
        """The search space as Ray Tune domains (a search, and checks of a space's bounds, need the real ones)."""
        return tune_domains(self.space)

    def condition_rules(self) -> Conditions:
        """The conditions, checked (a When per key; the key and the keys it is on have defaults; no key conditioned
        on itself, directly or through others) and put in dependency order, with each key's inactive value."""
        for key, rule in self.conditions.items():
            if not isinstance(rule, When):
                raise ValueError(f"{self.name}: conditions {key}: expected when(key=value, ...), got {rule!r}")
            missing = sorted({key, *rule.keys} - set(self.defaults))
            if missing:
                raise ValueError(f"{self.name}: conditions {key}={rule!r}: keys without a default: {missing}")
        ordered: dict[str, When] = {}
        while len(ordered) < len(self.conditions):
            ready = [k for k, r in self.conditions.items()
                     if k not in ordered and all(p in ordered or p not in self.conditions for p in r.keys)]
            if not ready:
                cycle = sorted(set(self.conditions) - set(ordered))
                raise ValueError(f"{self.name}: conditions on each other in a circle: {cycle}")
            ordered.update((k, self.conditions[k]) for k in ready)
        return Conditions(ordered, {key: self.defaults[key] for key in ordered})

    def on_dataset(self, dataset: str | None) -> Benchmark:
        """The recipe on another dataset (`search --dataset folder`: the user's class folders): the report's figures
        left out (they were not measured on these images), and a `split` setting where the recipe has none
        (TRAIN/VAL/TEST percentages; none: the dataset's default). The same benchmark for None or its own."""
        if dataset is None or dataset == self.dataset:
            return self
        return replace(self, dataset=dataset, reference=(), defaults={"split": None, **self.defaults})


def load_benchmark_file(path: str | Path) -> Benchmark:
    """Load a user's search-space module: a .py file that defines BENCHMARK."""
    path = Path(path)
    if not path.is_file():
        raise TunebenchError(f"search-space file not found: {path}")
    if path.suffix != ".py":
        raise TunebenchError(f"{path}: not a search-space file (a .py file defining BENCHMARK = Benchmark(...))")
    spec = importlib.util.spec_from_file_location(f"tunebench_user_space_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise TunebenchError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SystemExit as exc:  # sys.exit() or exit() at import: not a search space, whatever the code
        raise TunebenchError(f"{path}: exited while being imported (SystemExit: {exc.code}); "
                             f"a search-space file only defines BENCHMARK") from None
    except Exception as exc:  # a user's module can fail in any way; report it on one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise TunebenchError(f"{path}: could not be imported: {type(exc).__name__}: {first}") from None
    benchmark = getattr(module, "BENCHMARK", None)
    if not isinstance(benchmark, Benchmark):
        raise TunebenchError(f"{path}: defines no BENCHMARK = Benchmark(...)")
    return benchmark

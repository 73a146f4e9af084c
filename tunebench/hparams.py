"""The hyperparameters the trainable understands: their types, valid ranges and defaults.

`--set key=value` is checked here, so a typo or a negative learning rate is a one-line error
before any trial starts, not a failed trial an hour later. The defaults are the typed settings' (tunebench.settings)
and the choice lists are their owners' (data transforms, the model modules, the training loop): this table only
adds types, ranges and help.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, Callable, Mapping

from tunebench import TunebenchError
from tunebench.data import DATASETS, split_problem
from tunebench.data.transforms import AUGMENTATIONS, COLORS, NORMALIZATIONS, RESIZES
from tunebench.models import FREEZE_MODES, WEIGHTS
from tunebench.models.catsdogs_cnn import VARIANTS
from tunebench.models.cifar_cnn import ACTIVATIONS
from tunebench.models.resnets import MAX_FREEZE_DEPTH
from tunebench.models.transfer import BACKBONES
from tunebench.settings import DataSettings, FitSettings, ModelSettings, OptimSettings, SVMSettings
from tunebench.train import LOSSES, LR_SCHEDULES, OPTIMIZERS


@dataclass(frozen=True)
class HParam:
    type: type
    low: float | None = None          # inclusive unless low_open
    high: float | None = None         # inclusive
    low_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False            # "none" means: switched off
    help: str = ""
    default: Any = None               # the typed settings' default (None where a model's factory has its own)
    valid: Callable[[Any], str | None] | None = None  # what else is wrong with a value (its owner's check), or None

    def problem(self, value: Any) -> str | None:
        """What is wrong with a value of this hyperparameter (its type, choices, range), or None."""
        if value is None:
            return None if self.optional else "a value is required"
        if self.type is bool:
            wrong_type = not isinstance(value, bool)
        elif self.type is float:
            wrong_type = isinstance(value, bool) or not isinstance(value, (int, float))
        else:
            wrong_type = isinstance(value, bool) or not isinstance(value, self.type)
        if wrong_type:
            return f"expected {'an' if self.type is int else 'a'} {self.type.__name__}"
        if self.type is float and not math.isfinite(value):
            return "expected a finite number"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return f"out of range, must be {f'> {self.low}' if self.low_open else f'>= {self.low}'}"
        if self.high is not None and value > self.high:
            return f"out of range, must be <= {self.high}"
        return self.valid(value) if self.valid else None

    def check(self, key: str, value: Any, where: str = "--set") -> None:
        problem = self.problem(value)
        if problem:
            raise TunebenchError(f"{where} {key}{'' if value is None else f'={value}'}: {problem}")


_FRACTION = dict(low=0.0, high=0.95)

HPARAMS: dict[str, HParam] = {
    # model and weights
    "model": HParam(str, help="registered model (tunebench show lists a benchmark's)"),
    "weights": HParam(str, choices=WEIGHTS, help="initial weights"),
    "freeze": HParam(str, choices=FREEZE_MODES,
                     help="none; conv: train the classifier only; fc: train the convolutions only"),
    "freeze_depth": HParam(int, 0, MAX_FREEZE_DEPTH,
                           help="ResNet stages frozen: 0 none, 1 stem, 2 +layer1 ... 5 +layer4 (fc only)"),
    "backbone": HParam(str, choices=tuple(BACKBONES), help="transfer model's pretrained backbone"),
    "extractor": HParam(str, help="feature extractor: backbone.keras_layer, e.g. vgg16.block4_conv1"),
    "activation": HParam(str, choices=tuple(ACTIVATIONS), help="cifar-cnn activation"),
    "base_filters": HParam(int, 1, help="cifar-cnn filters of the first block (doubled per block)"),
    "variant": HParam(str, choices=tuple(VARIANTS),
                      help="catsdogs-cnn: the report's base, #1 (filters doubled), #2 (two convs per block)"),
    **{f"conv_{i}_filter": HParam(int, 1, optional=True, help=f"catsdogs-cnn filters of block {i} (none: variant's)")
       for i in (1, 2, 3)},
    **{f"dropout_{i}": HParam(float, **_FRACTION, optional=True, help=f"dropout rate {i} (none: the model's)")
       for i in (1, 2, 3, 4)},
    "dense_1_units": HParam(int, 1, help="catsdogs-cnn dense layer width"),
    "head_dropout": HParam(float, **_FRACTION, help="inception-transfer head dropout"),
    # optimisation
    "optimizer": HParam(str, choices=OPTIMIZERS, optional=True,
                        help="optimiser (none: the report's recipe for the model)"),
    "lr": HParam(float, 0.0, 10.0, low_open=True, optional=True,
                 help="initial learning rate (none: Keras' default for the optimiser, or the report's recipe)"),
    "momentum": HParam(float, 0.0, 1.0, help="SGD momentum"),
    "weight_decay": HParam(float, 0.0, 1.0, help="L2 weight decay"),
    "lr_schedule": HParam(str, choices=LR_SCHEDULES, help="learning-rate schedule"),
    "step_size": HParam(int, 1, help="StepLR: epochs between learning-rate decays"),
    "gamma": HParam(float, 0.0, 1.0, low_open=True, help="StepLR / ExponentialLR decay factor"),
    "batch_size": HParam(int, 1, help="images per training step"),
    "patience": HParam(int, 1, optional=True, help="early stopping: epochs without val_loss improvement"),
    "restore_best": HParam(bool, help="keep the weights of the best val_loss epoch (Keras restore_best_weights)"),
    "loss": HParam(str, choices=LOSSES, help="softmax cross-entropy, or sigmoid + binary CE"),
    "executions": HParam(int, 1, help="trainings per configuration with different seeds, scored by the mean"),
    "frozen_epochs": HParam(int, 0, optional=True, help="two-stage: epochs with the backbone frozen"),
    "fine_tune_epochs": HParam(int, 0, optional=True, help="two-stage: epochs after unfreezing"),
    "fine_tune_lr": HParam(float, 0.0, 10.0, low_open=True, optional=True, help="two-stage: learning rate after unfreezing"),
    "test_each_stage": HParam(bool, help="two-stage: score the test split at the end of the frozen stage too "
                                         "(tunebench study does, for the report's per-stage figures)"),
    "C": HParam(float, 0.0, low_open=True, help="linear SVM inverse regularisation strength"),
    "max_iter": HParam(int, 1, help="linear SVM iterations"),
    # data
    "augment": HParam(str, choices=AUGMENTATIONS, help="training augmentation pipeline"),
    "image_size": HParam(int, 16, help="side of the image fed to the model"),
    "resize": HParam(str, choices=RESIZES, help="crop: resize + centre crop; square: resize to a square"),
    "normalize": HParam(str, choices=NORMALIZATIONS, help="pixel normalisation"),
    "color": HParam(str, choices=COLORS, help="rgb or grayscale input"),
    "split": HParam(str, optional=True, valid=split_problem,
                    help="TRAIN/VAL/TEST percentages, e.g. 70/15/15, of a dataset that takes a split (none: its "
                         "default)"),
    "limit_per_class": HParam(int, 1, optional=True, help="at most this many images per class and split"),
    "workers": HParam(int, 0, help="DataLoader worker processes per trial"),
}


SETTINGS = (DataSettings, OptimSettings, FitSettings, ModelSettings, SVMSettings)
DEFAULTS = {f.name: f.default for cls in SETTINGS for f in fields(cls) if f.default is not MISSING}
HPARAMS = {key: replace(spec, default=DEFAULTS.get(key)) for key, spec in HPARAMS.items()}


def parse_value(key: str, text: str) -> Any:
    """Parse the text of `--set key=text` into the hyperparameter's type, and check it."""
    spec = HPARAMS.get(key)
    if spec is None:
        raise TunebenchError(f"--set {key}: unknown hyperparameter (known: {', '.join(sorted(HPARAMS))})")
    if spec.optional and text.strip().lower() == "none":
        value = None
    elif spec.type is str:
        value = text.strip()
    elif spec.type is bool:
        if text.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise TunebenchError(f"--set {key}={text}: expected true or false")
        value = text.strip().lower() in ("true", "1", "yes")
    else:
        try:
            number = float(text)
        except ValueError:
            raise TunebenchError(f"--set {key}={text}: expected a {spec.type.__name__}") from None
        if not math.isfinite(number):
            raise TunebenchError(f"--set {key}={text}: expected a finite number")
        if spec.type is int:
            if not number.is_integer():
                raise TunebenchError(f"--set {key}={text}: expected an int")
            number = int(number)
        value = number
    spec.check(key, value)
    return value


def parse_overrides(pairs: list[str], known: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`["lr=0.01", "step_size=5,10"]` -> {"lr": [0.01], "step_size": [5, 10]}.

    A single value fixes the hyperparameter; a comma-separated list restricts it to those values
    (the grid's subset for --search grid / coordinate, a choice for Optuna and random search).
    `known` is the benchmark's defaults: only its keys can be set.
    """
    overrides: dict[str, list[Any]] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise TunebenchError(f"--set {pair}: expected key=value")
        if key not in known:
            raise TunebenchError(
                f"--set {key}: unknown hyperparameter for this benchmark (known: {', '.join(sorted(known))})")
        overrides[key] = [parse_value(key, part) for part in text.split(",")]
    return overrides


def check_benchmark(benchmark: Any, origin: str) -> None:
    """A search-space file's values go through the checks `--set` applies: its defaults, grid, space and smoke
    values, the values its conditions name, and its epochs; the message names the file and the key."""
    from ray.tune.search.sample import Categorical, Domain, Integer

    def check(part: str, key: str, value: Any) -> None:
        spec = HPARAMS.get(key)
        if spec is None:
            known = ", ".join(sorted(HPARAMS))
            raise TunebenchError(f"{origin}: {part} {key}: unknown hyperparameter (known: {known})")
        spec.check(key, value, where=f"{origin}: {part}")

    if isinstance(benchmark.max_epochs, bool) or not isinstance(benchmark.max_epochs, int) \
            or benchmark.max_epochs < 1:
        raise TunebenchError(f"{origin}: max_epochs={benchmark.max_epochs!r}: must be a whole number >= 1")
    if benchmark.dataset not in DATASETS.names():  # "folder": the user's own class folders (--data-dir)
        raise TunebenchError(f"{origin}: dataset={benchmark.dataset!r}: unknown dataset (known: "
                             f"{', '.join(DATASETS.names())})")
    if benchmark.defaults.get("split") is not None:
        spec = DATASETS.spec(benchmark.dataset)
        problem = spec.split_problem(benchmark.defaults["split"]) if spec.takes_split else "it has a fixed split"
        if problem:
            raise TunebenchError(f"{origin}: defaults split={benchmark.defaults['split']}: {problem} "
                                 f"(dataset {benchmark.dataset})")
    for key, value in benchmark.defaults.items():
        check("defaults", key, value)
    for key, values in benchmark.grid.items():
        for value in values:
            check("grid", key, value)
    for key, domain in benchmark.tune_space().items():
        if isinstance(domain, Categorical):
            for value in domain.categories:
                check("space", key, value)
        elif isinstance(domain, Domain):
            upper = domain.upper - 1 if isinstance(domain, Integer) else domain.upper  # randint: exclusive
            for bound in (domain.lower, upper):
                check("space", key, bound)
        else:
            raise TunebenchError(f"{origin}: space {key}: expected a Ray Tune domain (tune.choice, tune.loguniform, "
                                 f"...), got {domain!r}")
    for key, value in benchmark.smoke.items():
        if key in ("max_epochs", "num_samples"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TunebenchError(f"{origin}: smoke {key}={value!r}: must be a whole number >= 1")
        elif key in benchmark.defaults:
            check("smoke", key, value)
    for key, rule in benchmark.conditions.items():  # the keys exist (Benchmark checks); their values must be valid
        for parent, values in rule.values:
            for value in values:
                check(f"conditions {key}: when", parent, value)

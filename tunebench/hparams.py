"""The hyperparameters the trainable understands: their types and valid ranges.

`--set key=value` is checked here, so a typo or a negative learning rate is a one-line error
before any trial starts, not a failed trial an hour later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from tunebench import TunebenchError


@dataclass(frozen=True)
class HParam:
    type: type
    low: float | None = None          # inclusive unless low_open
    high: float | None = None         # inclusive
    low_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False            # "none" means: switched off
    help: str = ""

    def check(self, key: str, value: Any) -> None:
        if value is None:
            if not self.optional:
                raise TunebenchError(f"--set {key}: a value is required")
            return
        if self.choices and value not in self.choices:
            raise TunebenchError(f"--set {key}={value}: must be one of {', '.join(self.choices)}")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            bound = f"> {self.low}" if self.low_open else f">= {self.low}"
            raise TunebenchError(f"--set {key}={value}: out of range, must be {bound}")
        if self.high is not None and value > self.high:
            raise TunebenchError(f"--set {key}={value}: out of range, must be <= {self.high}")


AUGMENTATIONS = ("none", "flip_rotate_perspective", "flip_rotate_perspective_jitter",
                 "flip_rotate_perspective_gray_jitter")

HPARAMS: dict[str, HParam] = {
    "lr": HParam(float, 0.0, 10.0, low_open=True, help="initial learning rate"),
    "momentum": HParam(float, 0.0, 1.0, help="SGD momentum"),
    "weight_decay": HParam(float, 0.0, 1.0, help="L2 weight decay"),
    "step_size": HParam(int, 1, help="StepLR: epochs between learning-rate decays"),
    "gamma": HParam(float, 0.0, 1.0, low_open=True, help="StepLR: learning-rate decay factor"),
    "batch_size": HParam(int, 1, help="images per training step"),
    "weights": HParam(str, choices=("none", "imagenet"), help="initial weights"),
    "freeze": HParam(str, choices=("none", "conv", "fc"),
                     help="none; conv: train the classifier only; fc: train the convolutions only"),
    "augment": HParam(str, choices=AUGMENTATIONS, help="training augmentation pipeline"),
    "image_size": HParam(int, 16, help="side of the centre crop fed to the model"),
    "limit_per_class": HParam(int, 1, optional=True, help="at most this many images per class and split"),
    "patience": HParam(int, 1, optional=True, help="early stopping: epochs without val_loss improvement"),
    "workers": HParam(int, 0, help="DataLoader worker processes per trial"),
}


def parse_value(key: str, text: str) -> Any:
    """Parse the text of `--set key=text` into the hyperparameter's type, and check it."""
    spec = HPARAMS.get(key)
    if spec is None:
        raise TunebenchError(f"--set {key}: unknown hyperparameter (known: {', '.join(sorted(HPARAMS))})")
    if spec.optional and text.strip().lower() == "none":
        value = None
    elif spec.type is str:
        value = text.strip()
    else:
        try:
            number = float(text)
        except ValueError:
            raise TunebenchError(f"--set {key}={text}: expected a {spec.type.__name__}") from None
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

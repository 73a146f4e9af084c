"""A trial's settings, typed: small frozen dataclasses built once from the Tune config dict.

The config dict stays the wire format (Ray Tune samples it, MLflow records it as params); below the trainable,
code reads these instead of `config.get(key, default)`. Each key has its one default here; `hparams` derives
its table's defaults from these fields and `trainable` the keys each trainer reads.

    data   DataSettings   how images become batches (size, resize, normalisation, colour, augmentation, batches)
    optim  OptimSettings  optimiser and learning-rate schedule
    fit    FitSettings    epochs, seed, early stopping, loss, executions, two-stage fine-tuning
    model  ModelSettings  the registered model, its initial weights and the keys its factory reads
    svm    SVMSettings    report 000's frozen features + linear SVM
    accel  AccelSettings  precision, channels_last, cuDNN autotuning, torch.compile (acceleration.Acceleration)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping, TypeVar

S = TypeVar("S")

PRECISIONS = ("bf16", "fp32")
DATA_PIPELINES = ("cached", "naive")


def from_config(cls: type[S], config: Mapping[str, Any]) -> S:
    """An instance of a settings class with the config's values of its fields (absent keys: the default)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in config.items() if k in names})


def keys(*classes: type) -> frozenset[str]:
    """The config keys settings classes read."""
    return frozenset(f.name for cls in classes for f in fields(cls))


@dataclass(frozen=True)
class DataSettings:
    image_size: int = 224
    resize: str = "crop"             # crop: resize + centre crop; square
    normalize: str = "auto"          # auto: what the model's initial weights expect (trainable resolves it)
    color: str = "rgb"
    augment: str = "none"            # applied to the training split only
    batch_size: int = 32
    workers: int = 0                 # DataLoader workers (naive pipeline)
    limit_per_class: int | None = None
    split: str | None = None         # the dataset's split choice; None: its default
    data_pipeline: str = "cached"    # DATA_PIPELINES: cached | naive


@dataclass(frozen=True)
class OptimSettings:
    optimizer: str | None = "sgd"    # None: the model's recipe fills it
    lr: float | None = None          # None: Keras' default for the optimiser
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_schedule: str = "step"
    step_size: int = 1
    gamma: float = 1.0


@dataclass(frozen=True)
class FitSettings:
    epochs: int = 1
    seed: int = 0
    patience: int | None = None      # early stopping on val_loss; None: never
    restore_best: bool = False       # keep the best val_loss epoch's weights
    loss: str = "cross_entropy"      # cross_entropy | bce (sigmoid over one output)
    executions: int = 1              # trainings of the configuration with seeds seed, seed+1, ...
    frozen_epochs: int | None = None      # two-stage fit: epochs with the backbone frozen
    fine_tune_epochs: int | None = None   # two-stage fit: epochs after unfreezing
    fine_tune_lr: float | None = None
    test_each_stage: bool = False         # two-stage fit: score the test split when the frozen stage ends (studies)

    @property
    def total_epochs(self) -> int:
        """`epochs`, or frozen + fine-tune epochs of a two-stage fit when that is fewer."""
        if self.frozen_epochs is not None and self.fine_tune_epochs is not None:
            return min(self.epochs, self.frozen_epochs + self.fine_tune_epochs)
        return self.epochs

    @property
    def binary(self) -> bool:
        return self.loss == "bce"


@dataclass(frozen=True)
class ModelSettings:
    model: str = ""
    weights: str = "none"            # none | imagenet
    options: Mapping[str, Any] = field(default_factory=dict)  # the keys the model's factory reads


@dataclass(frozen=True)
class SVMSettings:
    extractor: str = ""              # backbone.keras_layer
    C: float = 1.0
    max_iter: int = 1000
    feature_cache: str | None = None  # None: $TUNEBENCH_CACHE/features


@dataclass(frozen=True)
class AccelSettings:
    """What a search asks of its trials' device; on CPU only `compile` applies (acceleration.Acceleration)."""

    precision: str = "bf16"          # PRECISIONS: bf16 autocast, or fp32
    channels_last: bool = True
    cudnn_benchmark: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {self.precision!r}")

    def on(self, cuda: bool) -> AccelSettings:
        """What runs on a device with (cuda=True) or without CUDA: recorded in every trial's config."""
        if cuda:
            return self
        return AccelSettings(precision="fp32", channels_last=False, cudnn_benchmark=False, compile=self.compile)

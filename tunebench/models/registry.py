"""Model registry: build_model(name, num_classes, **hparams) -> nn.Module.

A model factory takes `num_classes` and keyword arguments named like the hyperparameters it reads
(weights, freeze, dropout_1, ...); build_model passes it those of `hparams` and ignores the rest, so a
trial's whole config can be handed over.
"""

from __future__ import annotations

import inspect

from torch import nn

from tunebench.registry import Registry

MODELS: Registry = Registry("model")

FREEZE_MODES = ("none", "conv", "fc")


def set_freeze(model: nn.Module, head: nn.Module, freeze: str) -> None:
    """freeze='conv': train the head (classifier) only; 'fc': train everything but the head."""
    if freeze not in FREEZE_MODES:
        raise ValueError(f"freeze must be one of {FREEZE_MODES}, not {freeze!r}")
    head_params = {id(p) for p in head.parameters()}
    for param in model.parameters():
        in_head = id(param) in head_params
        param.requires_grad = not ((freeze == "conv" and not in_head) or (freeze == "fc" and in_head))


def model_hparams(name: str) -> set[str]:
    """The hyperparameters model `name` reads: its factory's keyword arguments."""
    parameters = inspect.signature(MODELS.get(name)).parameters
    return {key for key, p in parameters.items() if key != "num_classes" and p.kind is not p.VAR_KEYWORD}


def build_model(name: str, num_classes: int, **hparams) -> nn.Module:
    accepted = model_hparams(name)
    return MODELS.get(name)(num_classes=num_classes, **{k: v for k, v in hparams.items() if k in accepted})


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

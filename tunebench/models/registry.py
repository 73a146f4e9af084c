"""Model registry: build_model(name, num_classes, weights=..., freeze=...) -> nn.Module."""

from __future__ import annotations

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


def build_model(name: str, num_classes: int, *, weights: str = "none", freeze: str = "none") -> nn.Module:
    return MODELS.get(name)(num_classes=num_classes, weights=weights, freeze=freeze)


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

"""Model registry: build_model(name, num_classes, **hparams) -> nn.Module, and what each model declares.

A model factory takes `num_classes` and keyword arguments named like the hyperparameters it reads
(weights, freeze, ...); build_model passes it those of `hparams` and ignores the rest, so a trial's whole
config can be handed over. A factory that reads more keys than it names (through **hparams) declares them.

Each model declares its metadata where it registers, as timm's pretrained configs do:

    @MODELS.register("resnet50-modified", imagenet=("resnet50",))
    @MODELS.register("transfer", backbones=("vgg16", "mobilenet_v2"), recipes={"vgg16": {...}, ...})
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Callable, Mapping

from torch import nn

from tunebench.registry import Registry

WEIGHTS = ("none", "imagenet")
FREEZE_MODES = ("none", "conv", "fc")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its factory and what it declares about itself."""

    build: Callable[..., nn.Module]
    imagenet: tuple[str, ...] = ()
    """The torchvision models whose IMAGENET1K_V1 weights it loads when built with weights="imagenet"."""
    backbones: tuple[str, ...] = ()
    """A backbone model's choices for its `backbone` hyperparameter: it also loads the ImageNet weights of the
    one named (its factory's default when the config names none)."""
    normalization: str = "imagenet"
    """The input normalisation its pretrained weights expect."""
    recipes: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    """Per backbone: the values that fill a trial config's None (or absent) entries."""
    hparams: tuple[str, ...] = ()
    """Keys the factory reads through **hparams, beyond the keyword arguments it names."""


MODELS: Registry = Registry("model", ModelSpec)


def field_names(hparams_type: type) -> tuple[str, ...]:
    """The keys a factory reads through a dataclass of its hyperparameters: `ModelSpec.hparams` of such a model."""
    return tuple(f.name for f in fields(hparams_type))


def check_weights(weights: str) -> None:
    """Every factory that takes `weights` refuses a value outside WEIGHTS with this error."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")


def set_freeze(model: nn.Module, head: nn.Module, freeze: str) -> None:
    """freeze='conv': train the head (classifier) only; 'fc': train everything but the head."""
    if freeze not in FREEZE_MODES:
        raise ValueError(f"freeze must be one of {FREEZE_MODES}, not {freeze!r}")
    head_params = {id(p) for p in head.parameters()}
    for param in model.parameters():
        in_head = id(param) in head_params
        param.requires_grad = not ((freeze == "conv" and not in_head) or (freeze == "fc" and in_head))


def model_hparams(name: str) -> set[str]:
    """The hyperparameters model `name` reads: its factory's keyword arguments and the keys it declares."""
    spec = MODELS.spec(name)
    parameters = inspect.signature(spec.build).parameters
    named = {key for key, p in parameters.items() if key != "num_classes" and p.kind is not p.VAR_KEYWORD}
    return named | set(spec.hparams)


def build_model(name: str, num_classes: int, **hparams) -> nn.Module:
    accepted = model_hparams(name)
    return MODELS.get(name)(num_classes=num_classes, **{k: v for k, v in hparams.items() if k in accepted})


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _backbone(spec: ModelSpec, hparams: Mapping[str, Any]) -> str | None:
    """The backbone a config picks for a backbone model (None or absent: the factory's default); None otherwise."""
    if not spec.backbones:
        return None
    chosen = hparams.get("backbone")
    return chosen if chosen is not None else inspect.signature(spec.build).parameters["backbone"].default


def imagenet_sources(model: str, hparams: Mapping[str, Any] | None = None) -> list[str]:
    """The torchvision models whose IMAGENET1K_V1 weights `model`, configured by `hparams`, loads with
    weights="imagenet" (each once, in order): the search prefetches them before any trial starts."""
    spec = MODELS.spec(model)
    backbone = _backbone(spec, hparams or {})
    sources = list(spec.imagenet)
    if backbone is not None and backbone not in sources:
        sources.append(backbone)
    return sources


def normalization_for(declared: str, weights: str) -> str:
    """The input normalisation of a model or extractor that declares `declared`, built with `weights`."""
    return declared if weights == "imagenet" else "scratch"


def input_normalization(model: str, weights: str) -> str:
    """The normalisation model `model` expects of its inputs: its pretrained weights' with weights="imagenet",
    else "scratch"."""
    return normalization_for(MODELS.spec(model).normalization, weights)


def with_recipe(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with its model's recipe filling the values that are None or absent (report 004's transfer model:
    the optimiser, learning rates and epochs of the backbone it names); other configs come back as they are."""
    resolved = dict(config)
    if resolved.get("model") not in MODELS.names():
        return resolved
    spec = MODELS.spec(resolved["model"])
    recipe = spec.recipes.get(_backbone(spec, resolved), {})
    resolved.update({key: value for key, value in recipe.items() if resolved.get(key) is None})
    return resolved

"""Which ImageNet weights a model loads, and loading the tensors of a checkpoint that fit a changed model.

`IMAGENET_SOURCES` maps a registered model name to the torchvision models whose IMAGENET1K_V1 weights it
loads when built with weights="imagenet"; the search prefetches them (`fetch_weights`) before any trial
starts. Each model module adds its own entries next to its `@MODELS.register`:

    IMAGENET_SOURCES["resnet50-modified"] = ("resnet50",)
    IMAGENET_SOURCES["transfer"] = (BACKBONE,)      # the model's `backbone` hyperparameter names the weights

A registered model without an entry loads no ImageNet weights (tiny-cnn, cifar-cnn, ...).
"""

from __future__ import annotations

from typing import Mapping, NamedTuple

import torch
from torch import nn

from tunebench import TunebenchError
from tunebench.models.registry import MODELS

BACKBONE = "<backbone>"
"""Placeholder in an IMAGENET_SOURCES entry: replaced by the `backbone` argument of `imagenet_sources`."""

IMAGENET_SOURCES: dict[str, tuple[str, ...]] = {}


def imagenet_sources(model: str, backbone: str | None = None) -> list[str]:
    """The torchvision model names whose IMAGENET1K_V1 weights model `model` loads (each once, in order)."""
    if model not in IMAGENET_SOURCES:
        MODELS.get(model)  # unknown model -> TunebenchError listing the known ones
        return []
    sources: list[str] = []
    for source in IMAGENET_SOURCES[model]:
        if source == BACKBONE:
            if backbone is None:
                raise TunebenchError(f"model '{model}' loads the ImageNet weights of its backbone: give a backbone")
            source = backbone
        if source not in sources:
            sources.append(source)
    return sources


class Matched(NamedTuple):
    """What `load_matching` did: checkpoint tensors loaded / skipped, and model tensors left as initialised."""

    loaded: list[str]
    skipped: list[str]
    fresh: list[str]


def load_matching(model: nn.Module, state_dict: Mapping[str, torch.Tensor], skip: tuple[str, ...] = ()) -> Matched:
    """Copy into `model` every tensor of `state_dict` whose name and shape match one of the model's.

    Names starting with a prefix in `skip` are never loaded (e.g. ("fc.",) keeps a resized head fresh
    even when its shape happens to match). Everything else the model has keeps its initial values.
    """
    own = model.state_dict()
    loaded = [name for name, tensor in state_dict.items()
              if name in own and own[name].shape == tensor.shape and not name.startswith(skip)]
    model.load_state_dict({name: state_dict[name] for name in loaded}, strict=False)
    taken = set(loaded)
    return Matched(loaded=loaded, skipped=[name for name in state_dict if name not in taken],
                   fresh=[name for name in own if name not in taken])

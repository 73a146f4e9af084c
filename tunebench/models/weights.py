"""ImageNet weights: torchvision's IMAGENET1K_V1 checkpoints, fetching them into torch's cache, and loading the
tensors of a checkpoint that fit a changed model.

Which checkpoints a model loads is declared where it registers (`ModelSpec.imagenet`, `ModelSpec.backbones`,
see `tunebench.models.registry.imagenet_sources`); the search fetches them (`fetch_weights`) before any trial
starts, so trials never download.
"""

from __future__ import annotations

import os
from typing import Mapping, NamedTuple

import torch
import torchvision
from torch import nn

from tunebench import TunebenchError


def imagenet_weights(name: str) -> torchvision.models.WeightsEnum:
    """The IMAGENET1K_V1 weights enum of torchvision model `name` (the weights the reports used)."""
    return torchvision.models.get_model_weights(name).IMAGENET1K_V1


def weights_file(name: str) -> str:
    """Where torch's cache keeps the ImageNet weights of `name`."""
    url = imagenet_weights(name).url
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


def fetch_weights(name: str) -> None:
    """Download the ImageNet weights into the cache now, so trials never download (one-line error offline)."""
    weights = imagenet_weights(name)
    try:
        weights.get_state_dict(progress=True, check_hash=True)
    except Exception as exc:  # URLError, HTTPError, hash mismatch
        raise TunebenchError(
            f"could not download ImageNet weights for {name} ({type(exc).__name__}: {exc}); "
            f"put {os.path.basename(weights.url)} from {weights.url} at {weights_file(name)}") from None


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

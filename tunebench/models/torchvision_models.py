"""torchvision classifiers with their head resized to the dataset's classes.

weights='imagenet' loads the IMAGENET1K_V1 weights enum the reports used (cached in $TORCH_HOME).
"""

from __future__ import annotations

import os

import torch
import torchvision
from torch import nn

from tunebench import TunebenchError
from tunebench.models.registry import MODELS, set_freeze

# model name -> attribute path of the final classification layer
HEADS = {"alexnet": "classifier", "vgg16": "classifier", "resnet50": "fc"}


def imagenet_weights(name: str) -> torchvision.models.WeightsEnum:
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


def _resize_head(model: nn.Module, name: str, num_classes: int) -> nn.Module:
    if HEADS[name] == "fc":
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return model.fc
    last = model.classifier[-1]
    model.classifier[-1] = nn.Linear(last.in_features, num_classes)
    return model.classifier


def _torchvision(name: str):
    def build(num_classes: int, weights: str = "none", freeze: str = "none") -> nn.Module:
        model = torchvision.models.get_model(name, weights=imagenet_weights(name) if weights == "imagenet" else None)
        _resize_head(model, name, num_classes)
        set_freeze(model, getattr(model, HEADS[name]), freeze)
        return model
    build.__name__ = name
    return MODELS.register(name)(build)


for _name in HEADS:
    _torchvision(_name)

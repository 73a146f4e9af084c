"""torchvision classifiers with their head resized to the dataset's classes.

weights='imagenet' loads the IMAGENET1K_V1 weights enum the reports used (cached in $TORCH_HOME).
resnet50 also takes `freeze_depth` (report 002's frozen stages, see `tunebench.models.resnets`).
"""

from __future__ import annotations

import os

import torch
import torchvision
from torch import nn

from tunebench import TunebenchError
from tunebench.models.registry import MODELS, set_freeze
from tunebench.models.resnets import freeze_resnet_stages
from tunebench.models.weights import IMAGENET_SOURCES

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


def _build(name: str, num_classes: int, weights: str, freeze: str) -> nn.Module:
    model = torchvision.models.get_model(name, weights=imagenet_weights(name) if weights == "imagenet" else None)
    _resize_head(model, name, num_classes)
    set_freeze(model, getattr(model, HEADS[name]), freeze)
    return model


def _torchvision(name: str):
    def build(num_classes: int, weights: str = "none", freeze: str = "none") -> nn.Module:
        return _build(name, num_classes, weights, freeze)
    build.__name__ = name
    return MODELS.register(name)(build)


for _name in ("alexnet", "vgg16"):
    _torchvision(_name)


@MODELS.register("resnet50")
def resnet50(num_classes: int, weights: str = "none", freeze: str = "none", freeze_depth: int = 0) -> nn.Module:
    """freeze (none|conv|fc) as for the Caltech benchmarks; freeze_depth 0..5 freezes the first stages
    (stem, layer1..layer4) as report 002 did. Given both, what either freezes stays frozen."""
    model = _build("resnet50", num_classes, weights, freeze)
    freeze_resnet_stages(model, freeze_depth)
    return model


for _name in HEADS:
    IMAGENET_SOURCES[_name] = (_name,)

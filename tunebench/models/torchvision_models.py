"""torchvision classifiers with their head resized to the dataset's classes.

weights='imagenet' loads the IMAGENET1K_V1 weights enum the reports used (cached in $TORCH_HOME).
resnet50 also takes `freeze_depth` (report 002's frozen stages, see `tunebench.models.resnets`).
"""

from __future__ import annotations

import torchvision
from torch import nn

from tunebench.models.registry import MODELS, check_weights, set_freeze
from tunebench.models.resnets import freeze_resnet_stages
from tunebench.models.weights import imagenet_weights

# model name -> attribute path of the final classification layer
HEADS = {"alexnet": "classifier", "vgg16": "classifier", "resnet50": "fc"}


def _resize_head(model: nn.Module, name: str, num_classes: int) -> nn.Module:
    if HEADS[name] == "fc":
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return model.fc
    last = model.classifier[-1]
    model.classifier[-1] = nn.Linear(last.in_features, num_classes)
    return model.classifier


def _build(name: str, num_classes: int, weights: str, freeze: str) -> nn.Module:
    check_weights(weights)
    model = torchvision.models.get_model(name, weights=imagenet_weights(name) if weights == "imagenet" else None)
    _resize_head(model, name, num_classes)
    set_freeze(model, getattr(model, HEADS[name]), freeze)
    return model


def _torchvision(name: str):
    def build(num_classes: int, weights: str = "none", freeze: str = "none") -> nn.Module:
        return _build(name, num_classes, weights, freeze)
    build.__name__ = name
    return MODELS.register(name, imagenet=(name,))(build)


for _name in ("alexnet", "vgg16"):
    _torchvision(_name)


@MODELS.register("resnet50", imagenet=("resnet50",))
def resnet50(num_classes: int, weights: str = "none", freeze: str = "none", freeze_depth: int = 0) -> nn.Module:
    """freeze (none|conv|fc) as for the Caltech benchmarks; freeze_depth 0..5 freezes the first stages
    (stem, layer1..layer4) as report 002 did. Given both, what either freezes stays frozen."""
    model = _build("resnet50", num_classes, weights, freeze)
    freeze_resnet_stages(model, freeze_depth)
    return model


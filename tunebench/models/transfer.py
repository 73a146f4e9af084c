"""Transfer learning then fine-tuning on a frozen ImageNet backbone (report 004), registered as "transfer".

    vgg16:        vgg16.features (frozen) → Flatten → Linear 256 ReLU → Linear 256 ReLU → Linear num_classes
    mobilenet_v2: mobilenet_v2.features (frozen) → global average pool → Linear 128 ReLU → Linear 64 ReLU
                  → Linear num_classes

The model starts in stage 1 (`model.stage == 1`: the whole backbone frozen, only the head trains);
`model.fine_tune()` switches to stage 2 as the report did: VGG16 unfreezes every layer; MobileNetV2 unfreezes
from Keras `block_16_expand` on, i.e. torchvision `features[17:]` (block_16 and the final 1x1 Conv_1 — Keras'
expanded_conv is features[1], block_N is features[N + 1]), BatchNorm kept frozen. `REPORT_RECIPES` holds the
report's optimizer, learning rates and epochs per stage, declared as the model's recipes: the trainer fills a
config value of None from it (`tunebench.models.with_recipe`) and continues at `fine_tune_lr` after `fine_tune()`, as the report's recompile did.

Where the PyTorch version differs from the Keras original:
- Weights: torchvision's IMAGENET1K_V1 (`weights="imagenet"`), not the Keras applications' weights. They expect
  torchvision's ImageNet normalisation (mean/std), not Keras' caffe-style (VGG16) or [-1, 1] (MobileNetV2) inputs.
- Frozen BatchNorm: Keras runs a BatchNormalization layer with trainable=False in inference mode (running
  statistics used, never updated), and the report kept every MobileNetV2 BN frozen in both stages. Here
  MobileNetV2 is built with `torchvision.ops.FrozenBatchNorm2d` as its norm layer: its affine terms and running
  statistics are buffers, so no `train()` call, optimizer or `requires_grad_()` can update them, where overriding
  `train()` on ordinary BatchNorm2d would leave them exposed to any code that toggles modes or gradients. (As a
  consequence, the BN affine terms are buffers rather than the non-trainable parameters Keras' summary counts.)
  VGG16 has no BatchNorm.
- The output layer returns logits: with num_classes=1 the sigmoid lives in nn.BCEWithLogitsLoss. The hidden head
  layers use He-uniform (= Keras he_uniform) with zero biases, the output layer Keras' default glorot_uniform.
- `stage` is not part of the state dict (which holds tensors only): a resumed fit calls `fine_tune()` again, as
  `tunebench.train.TrainingState` does from the stage its checkpoint records.
"""

from __future__ import annotations

from typing import Any

import torchvision
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from tunebench.models.keras_init import glorot_uniform, he_uniform
from tunebench.models.registry import MODELS, check_weights
from tunebench.models.weights import imagenet_weights

# The report's recipe per backbone ("Transfer Learning" / "Fine Tuning" code and the VGG16 vs MobileNetV2 table):
# optimizer and learning rate of stage 1, learning rate of stage 2, and the epochs it trained in each stage.
REPORT_RECIPES: dict[str, dict[str, Any]] = {
    "vgg16": dict(optimizer="sgd", momentum=0.9, lr=1e-3, fine_tune_lr=5e-5, frozen_epochs=3, fine_tune_epochs=3),
    "mobilenet_v2": dict(optimizer="adam", lr=1e-4, fine_tune_lr=1e-5, frozen_epochs=4, fine_tune_epochs=9),
}

# First torchvision `features` index that stage 2 unfreezes (vgg16: all; mobilenet_v2: Keras block_16_expand on).
FINE_TUNE_FROM = {"vgg16": 0, "mobilenet_v2": 17}


class TransferModel(nn.Module):
    """A torchvision backbone's `features`, a pooling step and a dense head; stage 1 trains the head only."""

    def __init__(self, features: nn.Sequential, pool: nn.Module, head: nn.Sequential, fine_tune_from: int) -> None:
        super().__init__()
        self.features = features
        self.pool = pool
        self.head = head
        self.fine_tune_from = fine_tune_from
        self.stage = 1
        self._freeze()

    def _freeze(self) -> None:
        unfrozen = self.features[self.fine_tune_from:] if self.stage == 2 else nn.Sequential()
        for param in self.features.parameters():
            param.requires_grad = False
        for param in unfrozen.parameters():
            param.requires_grad = True
        for param in self.head.parameters():
            param.requires_grad = True

    def fine_tune(self) -> None:
        """Stage 2: unfreeze the backbone from `fine_tune_from` on (BatchNorm stays frozen). Idempotent."""
        self.stage = 2
        self._freeze()

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


def _vgg16(num_classes: int, weights, image_size: int) -> TransferModel:
    features = torchvision.models.vgg16(weights=weights).features
    side = image_size // 32
    head = nn.Sequential(he_uniform(nn.Linear(512 * side * side, 256)), nn.ReLU(), he_uniform(nn.Linear(256, 256)),
                         nn.ReLU(), glorot_uniform(nn.Linear(256, num_classes)))
    return TransferModel(features, nn.Flatten(), head, FINE_TUNE_FROM["vgg16"])


def _mobilenet_v2(num_classes: int, weights, image_size: int) -> TransferModel:
    features = torchvision.models.mobilenet_v2(weights=weights, norm_layer=FrozenBatchNorm2d).features
    head = nn.Sequential(he_uniform(nn.Linear(1280, 128)), nn.ReLU(), he_uniform(nn.Linear(128, 64)), nn.ReLU(),
                         glorot_uniform(nn.Linear(64, num_classes)))
    return TransferModel(features, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), head,
                         FINE_TUNE_FROM["mobilenet_v2"])


BACKBONES = {"vgg16": _vgg16, "mobilenet_v2": _mobilenet_v2}


@MODELS.register("transfer", backbones=tuple(BACKBONES), recipes=REPORT_RECIPES)
def transfer(num_classes: int, backbone: str = "vgg16", weights: str = "none", image_size: int = 224) -> TransferModel:
    """weights="imagenet" loads the ImageNet weights of `backbone` (the registry's imagenet_sources says so)."""
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {sorted(BACKBONES)}, not {backbone!r}")
    check_weights(weights)
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32 (the backbones downsample by 32), not {image_size}")
    enum = imagenet_weights(backbone) if weights == "imagenet" else None
    return BACKBONES[backbone](num_classes, enum, image_size)

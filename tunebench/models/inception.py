"""Report 001's transfer model ("inception-transfer"): a frozen ImageNet backbone under a dense head.

Differences from the report's Keras model:
- Backbone: the report used Keras InceptionResNetV2 at 299x299 (1536 features). torchvision has no
  InceptionResNetV2; inception_v3 (2048 features) is the closest, with its IMAGENET1K_V1 weights. It
  accepts inputs from 75x75 up (299x299 is what it was trained at).
- The auxiliary classifier is removed: torchvision builds inception_v3 with AuxLogits to load the
  checkpoint (it holds those tensors), then drops them when asked for aux_logits=False.
- With ImageNet weights torchvision sets transform_input=True, so inputs are ImageNet-normalised as for
  the other torchvision models (the report used the Keras "resnetV2" [-1, 1] preprocessing instead).
- The backbone stays in eval mode even while the model trains (`train()` is overridden): Keras runs a
  frozen base model's BatchNorm in inference mode, so its running statistics never change and its
  dropout is off.
Head, as the report's Keras summary: GAP(2048) -> Dense 512 -> BN -> Dropout -> Dense 128 -> BN ->
Dropout -> Dense num_classes, with ReLU after the two hidden dense layers; `head_dropout` for both dropouts.
"""

from __future__ import annotations

import torchvision
from torch import Tensor, nn

from tunebench.models.registry import MODELS, check_weights
from tunebench.models.weights import imagenet_weights

FEATURES = 2048  # inception_v3's pooled features


class InceptionTransfer(nn.Module):
    def __init__(self, num_classes: int, weights: str = "none", head_dropout: float = 0.5) -> None:
        super().__init__()
        check_weights(weights)
        if weights == "imagenet":
            backbone = torchvision.models.inception_v3(weights=imagenet_weights("inception_v3"), aux_logits=False)
        else:
            backbone = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
        backbone.aux_logits, backbone.AuxLogits = False, None
        backbone.fc = nn.Identity()  # forward now ends at GAP -> dropout (off in eval) -> flatten: (N, 2048)
        for param in backbone.parameters():
            param.requires_grad = False
        self.backbone = backbone.eval()
        self.head = nn.Sequential(
            nn.Linear(FEATURES, 512), nn.ReLU(), nn.BatchNorm1d(512), nn.Dropout(head_dropout),
            nn.Linear(512, 128), nn.ReLU(), nn.BatchNorm1d(128), nn.Dropout(head_dropout),
            nn.Linear(128, num_classes))

    def train(self, mode: bool = True) -> InceptionTransfer:
        """Set the head's mode; the frozen backbone always stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))


@MODELS.register("inception-transfer", imagenet=("inception_v3",))
def inception_transfer(num_classes: int, weights: str = "none", head_dropout: float = 0.5) -> nn.Module:
    return InceptionTransfer(num_classes, weights=weights, head_dropout=head_dropout)


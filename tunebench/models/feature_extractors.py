"""Report 000's frozen feature extractors (featx-cifar5): VGG16 and ResNet50 cut at the report's Keras layers.

`EXTRACTORS` registers each cut as "backbone.keras_layer" (e.g. "vgg16.block4_conv1"), its spec saying where the
torchvision model is cut. Keras convolution layers include
their ReLU, so a VGG16 cut keeps the ReLU after the named convolution; a ResNet50 `convN_blockM_out` is
the output of a whole stage (after its last block's residual add and ReLU):

| backbone | Keras layer        | torchvision (kept up to and including) | output (224x224 input) |
|----------|--------------------|----------------------------------------|------------------------|
| vgg16    | block3_conv1       | features[:12]  (conv3_1 + ReLU)        | 256 x 56 x 56          |
| vgg16    | block4_conv1       | features[:19]  (conv4_1 + ReLU)        | 512 x 28 x 28          |
| vgg16    | block5_conv1       | features[:26]  (conv5_1 + ReLU)        | 512 x 14 x 14          |
| resnet50 | conv2_block3_out   | conv1 bn1 relu maxpool layer1          | 256 x 56 x 56          |
| resnet50 | conv3_block4_out   | ... layer2                             | 512 x 28 x 28          |
| resnet50 | conv4_block6_out   | ... layer3                             | 1024 x 14 x 14         |
| resnet50 | conv5_block3_out   | ... layer4                             | 2048 x 7 x 7           |

Keras ResNet50 is "v1" (stride 2 in a block's first 1x1 conv) and torchvision's "v1.5" (stride 2 in the
3x3 conv); the cut shapes are the same, the weights are torchvision's IMAGENET1K_V1, not Keras's.
The extractor flattens the cut output (N, C, H, W) to (N, C*H*W), in channel-major order where Keras's
Flatten on channels-last output is position-major: the same features, in another order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torchvision
from torch import Tensor, nn

from tunebench.models.registry import check_weights, normalization_for
from tunebench.models.weights import imagenet_weights
from tunebench.registry import Registry


@dataclass(frozen=True)
class ExtractorSpec:
    """A registered cut: `build` lists the torchvision model's modules in order, the first `keep` of which stay."""

    build: Callable[[nn.Module], list[nn.Module]]
    backbone: str       # the torchvision model, whose IMAGENET1K_V1 weights weights="imagenet" loads
    cut: str            # the report's Keras layer
    keep: int           # how many leading modules to keep: of `features` (vgg16) or of the model's children (resnet50)
    torchvision: str    # what that is, in torchvision's names
    channels: int       # channels of the cut output
    downsamplings: int  # stride-2 steps before the cut
    normalization: str = "imagenet"  # the input normalisation its pretrained weights expect

    @property
    def imagenet(self) -> tuple[str, ...]:
        """The torchvision models whose IMAGENET1K_V1 weights it loads with weights="imagenet"."""
        return (self.backbone,)


EXTRACTORS: Registry = Registry("feature extractor", ExtractorSpec)


def _register(backbone: str, modules: Callable[[nn.Module], list[nn.Module]],
              cuts: dict[str, tuple[int, str, int, int]]) -> None:
    for cut, (keep, described, channels, downsamplings) in cuts.items():
        EXTRACTORS.register(f"{backbone}.{cut}", backbone=backbone, cut=cut, keep=keep, torchvision=described,
                            channels=channels, downsamplings=downsamplings)(modules)


def _vgg16_modules(model: nn.Module) -> list[nn.Module]:
    return list(model.features)


def _resnet50_modules(model: nn.Module) -> list[nn.Module]:
    return list(model.children())


_register("vgg16", _vgg16_modules, {
    "block3_conv1": (12, "features[:12]", 256, 2),
    "block4_conv1": (19, "features[:19]", 512, 3),
    "block5_conv1": (26, "features[:26]", 512, 4),
})
_register("resnet50", _resnet50_modules, {
    "conv2_block3_out": (5, "conv1 bn1 relu maxpool layer1", 256, 2),
    "conv3_block4_out": (6, "... layer2", 512, 3),
    "conv4_block6_out": (7, "... layer3", 1024, 4),
    "conv5_block3_out": (8, "... layer4", 2048, 5),
})


def extractor_names() -> list[str]:
    """The registered extractors, sorted: what `--set extractor=` accepts."""
    return EXTRACTORS.names()


def extractor_sources(name: str) -> list[str]:
    """The torchvision models whose IMAGENET1K_V1 weights extractor `name` loads with weights="imagenet"."""
    return list(EXTRACTORS.spec(name).imagenet)


def extractor_normalization(name: str, weights: str) -> str:
    """The normalisation extractor `name` expects of its inputs: its weights' with weights="imagenet", else
    "scratch"."""
    return normalization_for(EXTRACTORS.spec(name).normalization, weights)


def _halve(size: int, backbone: str) -> int:
    # VGG's 2x2 max-pool floors; ResNet's stride-2 conv/pool with padding rounds up
    return size // 2 if backbone == "vgg16" else (size - 1) // 2 + 1


def feature_dim(name: str, image_size: int) -> int:
    """Length of the flattened features of extractor `name` for square `image_size` inputs."""
    spec = EXTRACTORS.spec(name)
    side = image_size
    for _ in range(spec.downsamplings):
        side = _halve(side, spec.backbone)
    return spec.channels * side * side


class FeatureExtractor(nn.Module):
    """A frozen body that stays in eval mode, followed by a flatten; forward runs without autograd."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        for param in self.body.parameters():
            param.requires_grad = False
        self.eval()

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.body(x), 1)


def build_extractor(name: str, weights: str) -> nn.Module:
    """Extractor `name` ("vgg16.block4_conv1"): a frozen eval-mode module mapping (N, 3, H, W) images to
    (N, feature_dim) features; weights "imagenet" or "none"."""
    spec = EXTRACTORS.spec(name)
    check_weights(weights)
    backbone = spec.backbone
    model = torchvision.models.get_model(backbone, weights=imagenet_weights(backbone) if weights == "imagenet" else None)
    return FeatureExtractor(nn.Sequential(*spec.build(model)[:spec.keep]))

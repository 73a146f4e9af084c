"""Report 002's modified ResNet50 ("resnet50-modified"): GELU, depthwise 3x3 convolutions, CBAM in every block.

torchvision's ResNet50 (layers 3-4-6-3) built with `CBAMBottleneck`, which differs from torchvision's
Bottleneck in three ways, as the report lists them:
- GELU replaces every ReLU (the stem's too);
- the 3x3 convolution is depthwise (groups = its channels; it keeps its stride, so torchvision's
  ResNet "v1.5" downsampling in the 3x3 conv is unchanged);
- CBAM (Woo et al. 2018) refines each block's output before the residual add, as in the CBAM paper:
  channel attention (an MLP shared by the average- and max-pooled descriptors, reduction 16, sigmoid of
  their sum), then spatial attention (7x7 conv over [channel mean; channel max], sigmoid).
The report's slides do not give the code; where they are silent (reduction 16, 7x7 kernel, no bias in
the MLP, CBAM before the add) this follows the CBAM paper.

weights="imagenet" loads every IMAGENET1K_V1 tensor of torchvision's resnet50 whose name and shape match
(`load_matching`): the stem, the 1x1 convolutions, all BatchNorms and the downsample branches. The
depthwise 3x3 convolutions (their shape differs), the CBAM modules (not in the checkpoint) and the
resized fc start from their random initialisation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.models.resnet import Bottleneck, ResNet

from tunebench.models.registry import MODELS, check_weights
from tunebench.models.resnets import freeze_resnet_stages
from tunebench.models.weights import Matched, imagenet_weights, load_matching


class ChannelAttention(nn.Module):
    """sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))) scales each channel; the MLP is shared, reduction `reduction`."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.GELU(),
                                 nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        avg = self.mlp(torch.mean(x, dim=(2, 3), keepdim=True))
        peak = self.mlp(torch.amax(x, dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + peak)


class SpatialAttention(nn.Module):
    """sigmoid(conv7x7([mean over channels; max over channels])) scales each position."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention, then spatial attention."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.spatial(self.channel(x))


class CBAMBottleneck(Bottleneck):
    """torchvision's Bottleneck with GELU, a depthwise 3x3 conv and CBAM before the residual add.

    The activation in the original is (torchvision's) ReLU, which the MLP inside CBAM's channel
    attention also uses in the paper; here the MLP uses GELU as well, so the model holds no ReLU.
    """

    def __init__(self, *args, **kwargs) -> None:
        """torchvision Bottleneck's arguments (ResNet._make_layer passes them positionally)."""
        super().__init__(*args, **kwargs)
        dense = self.conv2
        width = dense.in_channels
        self.conv2 = nn.Conv2d(width, width, 3, stride=dense.stride, padding=dense.padding, dilation=dense.dilation,
                               groups=width, bias=False)
        self.relu = nn.GELU()  # keeps torchvision's attribute name so the rest of ResNet is unchanged
        self.cbam = CBAM(self.conv3.out_channels)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.cbam(self.bn3(self.conv3(out)))
        return self.relu(out + identity)


def modified_resnet50(num_classes: int = 1000) -> ResNet:
    """The modified ResNet50 architecture, randomly initialised, with a `num_classes` head."""
    model = ResNet(CBAMBottleneck, [3, 4, 6, 3], num_classes=num_classes)
    model.relu = nn.GELU()  # the stem's activation
    return model


def load_imagenet(model: ResNet) -> Matched:
    """Load the IMAGENET1K_V1 resnet50 tensors that fit (see the module docstring); fc stays fresh."""
    state_dict = imagenet_weights("resnet50").get_state_dict(progress=True, check_hash=True)
    return load_matching(model, state_dict, skip=("fc.",))


@MODELS.register("resnet50-modified", imagenet=("resnet50",))
def resnet50_modified(num_classes: int, weights: str = "none", freeze_depth: int = 0) -> nn.Module:
    check_weights(weights)
    model = modified_resnet50(num_classes)
    if weights == "imagenet":
        load_imagenet(model)
    freeze_resnet_stages(model, freeze_depth)
    return model


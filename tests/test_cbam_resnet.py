"""Report 002's modified ResNet50: GELU, depthwise 3x3 convolutions, CBAM in every bottleneck."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from tunebench.models import build_model
from tunebench.models.cbam_resnet import CBAM, CBAMBottleneck


@pytest.fixture(scope="module")
def modified():
    return build_model("resnet50-modified", 50)


def test_modified_resnet_has_gelu_depthwise_convs_and_cbam_in_every_bottleneck(modified):
    kinds = {type(m) for m in modified.modules()}
    assert nn.GELU in kinds and nn.ReLU not in kinds
    blocks = [m for m in modified.modules() if isinstance(m, CBAMBottleneck)]
    assert len(blocks) == 16
    for block in blocks:
        conv = block.conv2
        assert conv.kernel_size == (3, 3)
        assert conv.groups == conv.in_channels == conv.out_channels
        assert isinstance(block.cbam, CBAM)
        assert block.cbam.channel.mlp[0].out_channels == block.conv3.out_channels // 16
        assert block.cbam.spatial.conv.kernel_size == (7, 7)
    assert all(m.groups == m.in_channels for m in modified.modules()
               if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))


def test_modified_resnet_classifies_and_trains_its_attention(modified):
    modified.train()
    out = modified(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 50)
    out.sum().backward()
    for block in (m for m in modified.modules() if isinstance(m, CBAMBottleneck)):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.cbam.parameters())
    modified.zero_grad(set_to_none=True)


def test_cbam_refines_the_block_output_before_the_residual_add(modified):
    block = modified.layer1[1]  # no downsample: identity is the input
    assert block.downsample is None

    class Zero(nn.Module):
        def forward(self, x):
            return torch.zeros_like(x)

    cbam, block.cbam = block.cbam, Zero()
    try:
        x = torch.randn(1, 256, 8, 8)
        assert torch.allclose(block.eval()(x), nn.functional.gelu(x))
    finally:
        block.cbam = cbam


def test_modified_resnet_with_imagenet_weights_loads_the_resnet50_checkpoint(monkeypatch):
    import tunebench.models.cbam_resnet as cbam_resnet

    source = torchvision.models.resnet50(weights=None).state_dict()
    asked = []

    class FakeWeights:
        def get_state_dict(self, **kwargs):
            return source

    monkeypatch.setattr(cbam_resnet, "imagenet_weights", lambda name: asked.append(name) or FakeWeights())
    model = build_model("resnet50-modified", 50, weights="imagenet", freeze_depth=5)
    assert asked == ["resnet50"]
    assert torch.equal(model.layer3[0].conv1.weight, source["layer3.0.conv1.weight"])
    assert {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad} == {"fc"}

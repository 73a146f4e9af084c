"""Report 001's Inception transfer model: a frozen eval-mode backbone under a dense head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunebench.models import build_model


@pytest.fixture(scope="module")
def inception():
    torch.manual_seed(0)
    return build_model("inception-transfer", 10, weights="none", head_dropout=0.3)


def test_inception_transfer_trains_only_its_head(inception):
    trainable = {n.split(".")[0] for n, p in inception.named_parameters() if p.requires_grad}
    assert trainable == {"head"}
    assert [m.p for m in inception.head if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert [m.out_features for m in inception.head if isinstance(m, nn.Linear)] == [512, 128, 10]
    assert inception.backbone.AuxLogits is None


def test_inception_transfer_backbone_stays_in_eval_mode_while_training(inception):
    inception.train()
    assert inception.training and inception.head.training
    assert not any(m.training for m in inception.backbone.modules())
    bn = [m for m in inception.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    stats = [(m.running_mean.clone(), m.running_var.clone()) for m in bn]
    head_bn = inception.head[2].running_mean.clone()
    optimizer = torch.optim.Adam([p for p in inception.parameters() if p.requires_grad], lr=1e-2)
    out = inception(torch.randn(4, 3, 75, 75))
    assert out.shape == (4, 10)
    nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 3])).backward()
    optimizer.step()
    for m, (mean, var) in zip(bn, stats):
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)
    assert not torch.equal(inception.head[2].running_mean, head_bn)  # the head's BN does train
    inception.eval()
    with torch.no_grad():
        assert inception(torch.randn(1, 3, 75, 75)).shape == (1, 10)

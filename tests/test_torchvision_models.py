"""torchvision classifiers: heads resized to the class count, and the report's freeze settings."""

from __future__ import annotations

import pytest
import torch

from tunebench.models import build_model, trainable_parameters


@pytest.mark.parametrize("name", ["alexnet", "resnet50", "vgg16"])
def test_output_has_one_logit_per_class(name):
    model = build_model(name, 101).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 101)


def test_alexnet_freeze_matches_the_reports_parameter_counts():
    # Report 003, "Freeze layers": weights optimised with none / conv / fc frozen.
    assert trainable_parameters(build_model("alexnet", 101)) == 57_417_637
    assert trainable_parameters(build_model("alexnet", 101, freeze="conv")) == 54_947_941
    assert trainable_parameters(build_model("alexnet", 101, freeze="fc")) == 2_469_696


@pytest.mark.parametrize("name,head", [("resnet50", "fc"), ("vgg16", "classifier")])
def test_freeze_conv_trains_the_head_only_and_fc_the_rest(name, head):
    model = build_model(name, 10, freeze="conv")
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {head}
    model = build_model(name, 10, freeze="fc")
    assert not any(p.requires_grad for p in getattr(model, head).parameters())
    assert all(p.requires_grad for n, p in model.named_parameters() if not n.startswith(head))


def test_unknown_freeze_mode_is_refused():
    with pytest.raises(ValueError, match=r"freeze must be one of \('none', 'conv', 'fc'\), not 'all'"):
        build_model("alexnet", 10, freeze="all")

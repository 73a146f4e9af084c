"""ResNet50 freeze depth (report 002), on torchvision's resnet50 and the modified one."""

from __future__ import annotations

import pytest
from torch import nn

from tunebench.models import MAX_FREEZE_DEPTH, build_model, model_hparams, trainable_parameters

STAGES = ["stem", "layer1", "layer2", "layer3", "layer4"]


def _group(param_name: str) -> str:
    top = param_name.split(".")[0]
    return "stem" if top in ("conv1", "bn1") else top


def _trainable_groups(model: nn.Module) -> set[str]:
    return {_group(n) for n, p in model.named_parameters() if p.requires_grad}


def _frozen_groups(model: nn.Module) -> set[str]:
    return {_group(n) for n, p in model.named_parameters() if not p.requires_grad}


@pytest.mark.parametrize("name", ["resnet50", "resnet50-modified"])
def test_freeze_depth_freezes_exactly_the_first_stages(name):
    assert MAX_FREEZE_DEPTH == 5
    counts = []
    for depth in range(6):
        model = build_model(name, 50, freeze_depth=depth)
        assert _trainable_groups(model) == set(STAGES[depth:]) | {"fc"}, depth
        assert _frozen_groups(model) == set(STAGES[:depth]), depth
        counts.append(trainable_parameters(model))
    assert all(a > b for a, b in zip(counts, counts[1:])), counts
    # the report's "layer 1-4 frozen" trains fc only; "layer 1-3 frozen" trains layer4 + fc
    fc = build_model(name, 50).fc
    assert counts[5] == sum(p.numel() for p in fc.parameters())


def test_freeze_depth_and_freeze_combine_on_resnet50():
    model = build_model("resnet50", 10, freeze="fc", freeze_depth=2)
    assert _trainable_groups(model) == {"layer2", "layer3", "layer4"}
    model = build_model("resnet50", 10, freeze="conv", freeze_depth=1)
    assert _trainable_groups(model) == {"fc"}


def test_freeze_depth_is_a_hyperparameter_of_the_resnets_only():
    assert {"weights", "freeze", "freeze_depth"} <= model_hparams("resnet50")
    assert model_hparams("resnet50-modified") == {"weights", "freeze_depth"}
    assert model_hparams("inception-transfer") == {"weights", "head_dropout"}
    assert "freeze_depth" not in model_hparams("alexnet")
    # a whole trial config can be handed over: the model takes what it reads
    model = build_model("resnet50", 10, freeze_depth=4, lr=0.1, gamma=0.7)
    assert _trainable_groups(model) == {"layer4", "fc"}


@pytest.mark.parametrize("depth", [-1, 6, 2.5, "2"])
def test_bad_freeze_depth_is_refused(depth):
    with pytest.raises(ValueError, match="freeze_depth must be an integer from 0 to 5"):
        build_model("resnet50", 10, freeze_depth=depth)

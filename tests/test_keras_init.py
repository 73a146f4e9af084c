"""The Keras initialisers of the hand-written models: He-uniform hidden layers, glorot-uniform output layers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tunebench.models.keras_init import glorot_uniform, he_uniform


@pytest.mark.parametrize("layer,fan_in", [(nn.Linear(400, 300), 400), (nn.Conv2d(16, 32, 3), 16 * 9)])
def test_he_uniform_draws_within_keras_bound_with_zero_bias(layer, fan_in):
    nn.init.constant_(layer.bias, 1.0)
    assert he_uniform(layer) is layer
    bound = math.sqrt(6 / fan_in)
    weight = layer.weight.detach()
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound
    assert not layer.bias.any()


def test_glorot_uniform_draws_within_keras_bound_with_zero_bias():
    layer = nn.Linear(400, 100)
    nn.init.constant_(layer.bias, 1.0)
    assert glorot_uniform(layer) is layer
    bound = math.sqrt(6 / (400 + 100))
    weight = layer.weight.detach()
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound
    assert not layer.bias.any()


def test_initialisers_are_torchs_kaiming_and_xavier():
    torch.manual_seed(3)
    ours = he_uniform(nn.Linear(20, 10)).weight.detach().clone()
    torch.manual_seed(3)
    reference = nn.Linear(20, 10)
    nn.init.kaiming_uniform_(reference.weight, nonlinearity="relu")
    assert torch.equal(ours, reference.weight)
    torch.manual_seed(3)
    ours = glorot_uniform(nn.Linear(20, 10)).weight.detach().clone()
    torch.manual_seed(3)
    reference = nn.Linear(20, 10)
    nn.init.xavier_uniform_(reference.weight)
    assert torch.equal(ours, reference.weight)

"""Report 001's CIFAR-10 CNN ("cifar-cnn")."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunebench.models import build_model, model_hparams
from tunebench.models.cifar_cnn import ACTIVATIONS, CifarHParams


def test_cifar_cnn_gives_one_logit_per_class():
    model = build_model("cifar-cnn", 10).eval()
    with torch.no_grad():
        assert model(torch.randn(4, 3, 32, 32)).shape == (4, 10)


def test_cifar_cnn_layers_follow_the_report():
    model = build_model("cifar-cnn", 10)
    kinds = [type(m).__name__ for m in model.features] + [type(m).__name__ for m in model.classifier]
    block = ["Conv2d", "Mish", "BatchNorm2d"]
    assert kinds == (block * 2 + ["MaxPool2d", "Dropout"] + block * 2 + ["MaxPool2d", "Dropout"]
                     + block + ["MaxPool2d", "Dropout", "Flatten"]
                     + ["Linear", "Mish", "BatchNorm1d", "Dropout", "Linear"])
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128]
    assert all(c.kernel_size == (3, 3) and c.padding == "same" and not c.bias.any() for c in convs)
    # He-uniform: bound sqrt(6 / fan_in)
    assert convs[1].weight.abs().max() <= (6 / (32 * 9)) ** 0.5
    assert model.classifier[0].in_features == 128 * 4 * 4


@pytest.mark.parametrize("activation,module", [("mish", nn.Mish), ("relu", nn.ReLU), ("gelu", nn.GELU)])
def test_cifar_cnn_uses_the_chosen_activation(activation, module):
    model = build_model("cifar-cnn", 10, activation=activation)
    activations = [m for m in model.modules() if isinstance(m, (nn.Mish, nn.ReLU, nn.GELU))]
    assert len(activations) == 6 and all(type(m) is module for m in activations)


def test_cifar_cnn_refuses_an_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        build_model("cifar-cnn", 10, activation="swish")


def test_cifar_cnn_dropout_rates_land_in_their_blocks():
    model = build_model("cifar-cnn", 10, dropout_1=0.11, dropout_2=0.22, dropout_3=0.33, dropout_4=0.44)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.11, 0.22, 0.33, 0.44]
    default = build_model("cifar-cnn", 10)
    assert [m.p for m in default.modules() if isinstance(m, nn.Dropout)] == [0.2, 0.3, 0.4, 0.5]


def test_cifar_cnn_base_filters_and_image_size_set_the_widths():
    model = build_model("cifar-cnn", 10, base_filters=16, image_size=48).eval()
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)] == [16, 16, 32, 32, 64]
    assert model.classifier[0].in_features == 64 * 6 * 6
    with torch.no_grad():
        assert model(torch.randn(2, 3, 48, 48)).shape == (2, 10)


def test_cifar_cnn_decays_exactly_the_conv_kernels():
    model = build_model("cifar-cnn", 10)
    decayed = {id(p) for p in model.decay_parameters()}
    names = {name for name, p in model.named_parameters() if id(p) in decayed}
    assert names == {"features.0.weight", "features.3.weight", "features.8.weight", "features.11.weight",
                     "features.16.weight"}
    assert len(model.decay_parameters()) == 5 and all(p.dim() == 4 for p in model.decay_parameters())


def test_cifar_cnn_reads_the_fields_of_its_hparams():
    assert model_hparams("cifar-cnn") == set(CifarHParams.__dataclass_fields__)
    assert set(ACTIVATIONS) == {"mish", "relu", "gelu"}

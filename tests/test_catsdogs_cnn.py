"""Report 004's Dogs vs Cats CNN ("catsdogs-cnn") and its two modifications."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunebench.models import build_model, model_hparams


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("variant", ["base", "wide", "double"])
def test_catsdogs_cnn_gives_one_logit(variant):
    model = build_model("catsdogs-cnn", 1, variant=variant, image_size=64).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 1)


def test_catsdogs_cnn_grayscale_takes_one_channel():
    model = build_model("catsdogs-cnn", 1, color="grayscale", image_size=64).eval()
    assert model.features[0].in_channels == 1
    with torch.no_grad():
        assert model(torch.randn(2, 1, 64, 64)).shape == (2, 1)


@pytest.mark.parametrize("variant,color,count", [
    ("base", "rgb", 20_573_761),        # report 004, ARCHITETTURA «BASE» (2/3)
    ("base", "grayscale", 20_573_185),  # ARCHITETTURA «BASE» (3/3)
    ("wide", "rgb", 41_331_329),        # CONFRONTO MODIFICHE: #1
    ("double", "rgb", 20_767_521),      # CONFRONTO MODIFICHE: #2
])
def test_catsdogs_cnn_has_the_reports_parameter_counts(variant, color, count):
    assert n_params(build_model("catsdogs-cnn", 1, variant=variant, color=color)) == count


def test_catsdogs_cnn_variants_match_the_reports_code():
    def convs(model):
        return [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]

    def dropouts(model):
        return [m.p for m in model.modules() if isinstance(m, nn.Dropout)]

    assert convs(build_model("catsdogs-cnn", 1)) == [32, 64, 128]
    assert convs(build_model("catsdogs-cnn", 1, variant="wide", image_size=64)) == [64, 128, 256]
    assert convs(build_model("catsdogs-cnn", 1, variant="double", image_size=64)) == [32, 32, 64, 64, 128, 128]
    assert dropouts(build_model("catsdogs-cnn", 1, image_size=64)) == [0.2, 0.2, 0.2, 0.5]
    assert dropouts(build_model("catsdogs-cnn", 1, variant="wide", image_size=64)) == [0.2, 0.2, 0.2, 0.4]
    assert dropouts(build_model("catsdogs-cnn", 1, variant="double", image_size=64)) == [0.2, 0.2, 0.2, 0.4]


def test_catsdogs_cnn_search_values_override_the_variant():
    # the report's best KerasTuner trial
    model = build_model("catsdogs-cnn", 1, variant="double", conv_1_filter=64, conv_2_filter=64, conv_3_filter=256,
                        dropout_1=0.1, dropout_2=0.1, dropout_3=0.1, dense_1_units=160, dropout_4=0.2,
                        image_size=64, optimizer="adam")
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)] == [64, 64, 64, 64, 256, 256]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.1, 0.1, 0.1, 0.2]
    assert model.classifier[0].out_features == 160 and model.classifier[0].in_features == 256 * 8 * 8
    assert "optimizer" not in model_hparams("catsdogs-cnn")


@pytest.mark.parametrize("bad", [dict(variant="triple"), dict(color="cmyk")])
def test_catsdogs_cnn_refuses_unknown_choices(bad):
    with pytest.raises(ValueError, match="must be one of"):
        build_model("catsdogs-cnn", 1, image_size=64, **bad)

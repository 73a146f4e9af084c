"""Models: heads resized to the class count, and the report's freeze settings."""

from __future__ import annotations

import pytest
import torch

from tunebench import TunebenchError
from tunebench.models import MODELS, build_model, trainable_parameters
from tunebench.registry import Registry


@pytest.mark.parametrize("name", ["alexnet", "resnet50", "vgg16", "tiny-cnn"])
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


def test_unknown_model_is_a_clear_error():
    with pytest.raises(TunebenchError, match="unknown model 'lenet'"):
        build_model("lenet", 10)


def test_registry_refuses_duplicates():
    registry = Registry("thing")
    registry.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(lambda: 2)
    assert "alexnet" in MODELS.names()


def test_offline_weights_download_says_where_to_put_the_file(tmp_path, monkeypatch):
    from tunebench.models import fetch_weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "")
    with pytest.raises(TunebenchError, match=r"put alexnet-owt-.*\.pth .* at .*hub/checkpoints"):
        fetch_weights("alexnet")

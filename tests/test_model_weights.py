"""ImageNet weights: where they are cached, the offline download error, and loading the tensors that fit."""

from __future__ import annotations

import pytest
import torch
import torchvision

from tunebench import TunebenchError
from tunebench.models import fetch_weights
from tunebench.models.cbam_resnet import modified_resnet50
from tunebench.models.weights import imagenet_weights, load_matching, weights_file


def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "")


def test_offline_weights_download_says_where_to_put_the_file(tmp_path, monkeypatch):
    _offline(tmp_path, monkeypatch)
    with pytest.raises(TunebenchError, match=r"put alexnet-owt-.*\.pth .* at .*hub/checkpoints"):
        fetch_weights("alexnet")


@pytest.mark.parametrize("name", ["inception_v3", "mobilenet_v2"])
def test_fetch_weights_knows_the_other_backbones(name, tmp_path, monkeypatch):
    assert imagenet_weights(name).url.startswith("https://download.pytorch.org/models/")
    _offline(tmp_path, monkeypatch)
    with pytest.raises(TunebenchError, match=rf"put {name}.*\.pth .* at .*hub/checkpoints"):
        fetch_weights(name)


def test_weights_file_is_in_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert weights_file("resnet50") == str(tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth")


def test_load_matching_loads_every_tensor_that_fits():
    source = torchvision.models.resnet50(weights=None).state_dict()
    model = modified_resnet50(50)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    matched = load_matching(model, source)
    state = model.state_dict()
    assert "conv1.weight" in matched.loaded and "layer4.2.bn3.running_var" in matched.loaded
    assert "layer2.0.downsample.0.weight" in matched.loaded
    for name in matched.loaded:
        assert torch.equal(state[name], source[name]), name
    # the depthwise 3x3 convs and the resized head do not fit; CBAM is not in the checkpoint
    conv2 = [k for k in source if k.endswith("conv2.weight")]
    assert len(conv2) == 16
    assert set(matched.skipped) == set(conv2) | {"fc.weight", "fc.bias"}
    assert all(k in matched.fresh for k in conv2)
    assert any(".cbam." in k for k in matched.fresh) and not any(".cbam." in k for k in matched.loaded)
    for name in matched.fresh:
        assert torch.equal(state[name], before[name]), name
    assert set(matched.loaded) | set(matched.fresh) == set(state)


def test_load_matching_skip_keeps_a_fitting_head_fresh():
    source = torchvision.models.resnet50(weights=None).state_dict()
    model = modified_resnet50(1000)
    matched = load_matching(model, source, skip=("fc.",))
    assert {"fc.weight", "fc.bias"} <= set(matched.skipped) & set(matched.fresh)
    assert not torch.equal(model.fc.weight, source["fc.weight"])

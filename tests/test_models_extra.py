"""Report models beyond the Caltech ones: ResNet50 freeze depth, the modified ResNet50, the Inception
transfer model, the frozen feature extractors, and which ImageNet weights each model loads."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from tunebench import TunebenchError
from tunebench.models import (BACKBONE, IMAGENET_SOURCES, build_model, fetch_weights, imagenet_sources,
                              model_hparams, trainable_parameters)
from tunebench.models.cbam_resnet import CBAM, CBAMBottleneck, modified_resnet50
from tunebench.models.feature_extractors import CUTS, build_extractor, feature_dim
from tunebench.models.torchvision_models import imagenet_weights
from tunebench.models.weights import load_matching

STAGES = ["stem", "layer1", "layer2", "layer3", "layer4"]


def _group(param_name: str) -> str:
    top = param_name.split(".")[0]
    return "stem" if top in ("conv1", "bn1") else top


def _trainable_groups(model: nn.Module) -> set[str]:
    return {_group(n) for n, p in model.named_parameters() if p.requires_grad}


def _frozen_groups(model: nn.Module) -> set[str]:
    return {_group(n) for n, p in model.named_parameters() if not p.requires_grad}


# ---- freeze depth (report 002) ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["resnet50", "resnet50-modified"])
def test_freeze_depth_freezes_exactly_the_first_stages(name):
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


# ---- modified ResNet50 -------------------------------------------------------------------------------------

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
    assert _trainable_groups(model) == {"fc"}


# ---- Inception transfer (report 001) -----------------------------------------------------------------------

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


# ---- feature extractors (report 000) -----------------------------------------------------------------------

ALL_CUTS = [(backbone, cut) for backbone in CUTS for cut in CUTS[backbone]]


@pytest.mark.parametrize("backbone,cut", ALL_CUTS)
def test_extractor_gives_frozen_flat_features_of_feature_dim(backbone, cut):
    extractor = build_extractor(backbone, cut, weights="none")
    extractor.train()
    assert not extractor.training
    assert not any(p.requires_grad for p in extractor.parameters())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    features = extractor(x)
    assert features.shape == (2, feature_dim(backbone, cut, 32))
    assert not features.requires_grad


def test_feature_dim_at_the_reports_input_size():
    assert feature_dim("vgg16", "block3_conv1", 224) == 256 * 56 * 56
    assert feature_dim("vgg16", "block4_conv1", 224) == 512 * 28 * 28
    assert feature_dim("vgg16", "block5_conv1", 224) == 512 * 14 * 14
    assert feature_dim("resnet50", "conv2_block3_out", 224) == 256 * 56 * 56
    assert feature_dim("resnet50", "conv5_block3_out", 224) == 2048 * 7 * 7


def test_unknown_cut_or_backbone_lists_the_valid_ones():
    with pytest.raises(TunebenchError, match="unknown cut 'block3_conv2' for vgg16 .*block3_conv1, block4_conv1"):
        build_extractor("vgg16", "block3_conv2", weights="none")
    with pytest.raises(TunebenchError, match="unknown feature-extractor backbone 'alexnet' .*vgg16, resnet50"):
        feature_dim("alexnet", "block3_conv1", 32)


# ---- which ImageNet weights to prefetch --------------------------------------------------------------------

@pytest.mark.parametrize("model,expected", [
    ("alexnet", ["alexnet"]), ("vgg16", ["vgg16"]), ("resnet50", ["resnet50"]),
    ("resnet50-modified", ["resnet50"]), ("inception-transfer", ["inception_v3"]), ("tiny-cnn", [])])
def test_imagenet_sources(model, expected):
    assert imagenet_sources(model) == expected


def test_imagenet_sources_of_a_backbone_model(monkeypatch):
    monkeypatch.setitem(IMAGENET_SOURCES, "some-transfer", (BACKBONE,))
    assert imagenet_sources("some-transfer", backbone="mobilenet_v2") == ["mobilenet_v2"]
    with pytest.raises(TunebenchError, match="give a backbone"):
        imagenet_sources("some-transfer")
    with pytest.raises(TunebenchError, match="unknown model 'lenet'"):
        imagenet_sources("lenet")


@pytest.mark.parametrize("name", ["inception_v3", "mobilenet_v2"])
def test_fetch_weights_knows_the_other_backbones(name, tmp_path, monkeypatch):
    assert imagenet_weights(name).url.startswith("https://download.pytorch.org/models/")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "")
    with pytest.raises(TunebenchError, match=rf"put {name}.*\.pth .* at .*hub/checkpoints"):
        fetch_weights(name)

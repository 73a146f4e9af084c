"""Report 004's transfer model: a frozen ImageNet backbone, a dense head, then fine-tuning."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from tunebench.models import MODELS, build_model
from tunebench.models.transfer import BACKBONES, REPORT_RECIPES


def trainable_names(model: nn.Module) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def transfer(backbone: str) -> nn.Module:
    return build_model("transfer", 1, backbone=backbone, weights="none", image_size=64)


@pytest.mark.parametrize("backbone", ["vgg16", "mobilenet_v2"])
def test_transfer_stage_1_trains_the_head_only(backbone):
    model = transfer(backbone)
    assert model.stage == 1
    assert trainable_names(model) == {n for n, _ in model.named_parameters() if n.startswith("head.")}
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 1)


def test_transfer_heads_follow_the_report():
    vgg = transfer("vgg16")
    assert [m.out_features for m in vgg.head if isinstance(m, nn.Linear)] == [256, 256, 1]
    assert vgg.head[0].in_features == 512 * 2 * 2
    assert build_model("transfer", 1, backbone="vgg16", weights="none").head[0].in_features == 512 * 7 * 7
    mobilenet = transfer("mobilenet_v2")
    assert [m.out_features for m in mobilenet.head if isinstance(m, nn.Linear)] == [128, 64, 1]
    assert mobilenet.head[0].in_features == 1280


def test_transfer_vgg16_fine_tune_unfreezes_everything():
    model = transfer("vgg16")
    model.fine_tune()
    assert model.stage == 2
    assert all(p.requires_grad for p in model.parameters())
    model.fine_tune()
    assert model.stage == 2 and all(p.requires_grad for p in model.parameters())


def test_transfer_mobilenet_v2_fine_tunes_from_block_16_with_batchnorm_frozen():
    torch.manual_seed(0)
    model = transfer("mobilenet_v2")
    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d))]
    assert norms and all(isinstance(m, FrozenBatchNorm2d) for m in norms)
    assert not any(p for m in norms for p in m.parameters())  # affine terms and statistics are buffers
    model.fine_tune()
    model.fine_tune()  # idempotent
    assert model.stage == 2
    expected = {n for n, _ in model.named_parameters() if n.startswith(("features.17.", "features.18.", "head."))}
    assert trainable_names(model) == expected
    assert all(not p.requires_grad for n, p in model.named_parameters() if n.startswith("features.16."))

    bn_before = {n: b.clone() for n, b in model.named_buffers()}
    conv_before = model.features[17].conv[0][0].weight.clone()
    frozen_before = model.features[16].conv[0][0].weight.clone()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    assert all(m.training for m in model.modules())  # train mode cannot reach the frozen statistics
    loss = nn.functional.binary_cross_entropy_with_logits(model(torch.randn(4, 3, 64, 64)), torch.ones(4, 1))
    loss.backward()
    optimizer.step()
    assert all(torch.equal(b, model.get_buffer(n)) for n, b in bn_before.items())
    assert not torch.equal(conv_before, model.features[17].conv[0][0].weight)
    assert torch.equal(frozen_before, model.features[16].conv[0][0].weight)


def test_transfer_state_dict_holds_tensors_and_loads_into_a_fresh_model():
    tuned = transfer("mobilenet_v2")
    tuned.fine_tune()
    state = tuned.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in state.values())  # the trainer copies them with .detach()
    fresh = transfer("mobilenet_v2")
    fresh.load_state_dict(state)
    fresh.fine_tune()
    assert fresh.stage == 2 and trainable_names(fresh) == trainable_names(tuned)


def test_transfer_refuses_unknown_choices():
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_model("transfer", 1, backbone="resnet50", weights="none")
    with pytest.raises(ValueError, match="weights must be one of"):
        build_model("transfer", 1, backbone="vgg16", weights="random")


def test_transfer_recipes_are_the_reports():
    assert REPORT_RECIPES["vgg16"] == dict(optimizer="sgd", momentum=0.9, lr=1e-3, fine_tune_lr=5e-5,
                                           frozen_epochs=3, fine_tune_epochs=3)
    assert REPORT_RECIPES["mobilenet_v2"] == dict(optimizer="adam", lr=1e-4, fine_tune_lr=1e-5,
                                                  frozen_epochs=4, fine_tune_epochs=9)


def test_transfer_declares_its_backbones_and_their_recipes():
    spec = MODELS.spec("transfer")
    assert spec.backbones == tuple(BACKBONES) == ("vgg16", "mobilenet_v2")
    assert spec.recipes == REPORT_RECIPES
    assert spec.imagenet == () and spec.normalization == "imagenet"


def test_transfer_imagenet_weights_load_into_the_backbone(tmp_path, monkeypatch):
    # Offline stand-in for the download: a checkpoint under the cache name torchvision looks for (the hash in
    # the file name is only checked on download), so the real weights="imagenet" path runs.
    import torchvision

    from tunebench.models.weights import weights_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(1)
    source = torchvision.models.mobilenet_v2()
    path = weights_file("mobilenet_v2")
    assert path.startswith(str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(source.state_dict(), path)
    model = build_model("transfer", 1, backbone="mobilenet_v2", weights="imagenet")
    assert torch.equal(model.features[17].conv[0][0].weight, source.features[17].conv[0][0].weight)
    assert torch.equal(model.features[18][1].running_var, source.features[18][1].running_var)

"""The reports' small models: cifar-cnn (001), catsdogs-cnn and transfer (004)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from tunebench.models import build_model, model_hparams
from tunebench.models.transfer import REPORT_RECIPES


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def trainable_names(model: nn.Module) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


# ---- cifar-cnn -------------------------------------------------------------------------------------------

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


# ---- catsdogs-cnn ----------------------------------------------------------------------------------------

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


# ---- transfer --------------------------------------------------------------------------------------------

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


def test_transfer_imagenet_weights_load_into_the_backbone(tmp_path, monkeypatch):
    # Offline stand-in for the download: a checkpoint under the cache name torchvision looks for (the hash in
    # the file name is only checked on download), so the real weights="imagenet" path runs.
    import torchvision

    from tunebench.models.torchvision_models import weights_file

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

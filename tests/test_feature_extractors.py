"""Report 000's frozen feature extractors: the registry of cuts, their features and their dimensions."""

from __future__ import annotations

import pytest
import torch

from tunebench import TunebenchError
from tunebench.models import (EXTRACTORS, build_extractor, extractor_names, extractor_normalization,
                              extractor_sources, feature_dim)


def test_the_reports_cuts_are_registered():
    assert EXTRACTORS.names() == [
        "resnet50.conv2_block3_out", "resnet50.conv3_block4_out", "resnet50.conv4_block6_out",
        "resnet50.conv5_block3_out", "vgg16.block3_conv1", "vgg16.block4_conv1", "vgg16.block5_conv1"]


def test_an_extractor_declares_its_backbone_cut_weights_and_normalization():
    spec = EXTRACTORS.spec("resnet50.conv3_block4_out")
    assert (spec.backbone, spec.cut, spec.keep, spec.channels) == ("resnet50", "conv3_block4_out", 6, 512)
    assert spec.imagenet == ("resnet50",)
    assert spec.normalization == "imagenet"
    assert extractor_sources("resnet50.conv3_block4_out") == ["resnet50"]
    assert extractor_sources("vgg16.block4_conv1") == ["vgg16"]
    assert extractor_normalization("vgg16.block4_conv1", "imagenet") == "imagenet"
    assert extractor_normalization("vgg16.block4_conv1", "none") == "scratch"
    assert extractor_names() == EXTRACTORS.names()


@pytest.mark.parametrize("name", EXTRACTORS.names())
def test_extractor_gives_frozen_flat_features_of_feature_dim(name):
    extractor = build_extractor(name, weights="none")
    extractor.train()
    assert not extractor.training
    assert not any(p.requires_grad for p in extractor.parameters())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    features = extractor(x)
    assert features.shape == (2, feature_dim(name, 32))
    assert not features.requires_grad


def test_feature_dim_at_the_reports_input_size():
    assert feature_dim("vgg16.block3_conv1", 224) == 256 * 56 * 56
    assert feature_dim("vgg16.block4_conv1", 224) == 512 * 28 * 28
    assert feature_dim("vgg16.block5_conv1", 224) == 512 * 14 * 14
    assert feature_dim("resnet50.conv2_block3_out", 224) == 256 * 56 * 56
    assert feature_dim("resnet50.conv5_block3_out", 224) == 2048 * 7 * 7


def test_feature_dim_rounds_as_each_backbone_downsamples():
    # 33 -> VGG pools floor to 16, 8, 4; ResNet's padded stride-2 steps round up to 17, 9, 5
    assert feature_dim("vgg16.block5_conv1", 33) == 512 * 2 * 2
    assert feature_dim("resnet50.conv3_block4_out", 33) == 512 * 5 * 5


def test_unknown_extractor_is_a_one_line_error_listing_the_valid_ones():
    with pytest.raises(TunebenchError, match=r"^unknown feature extractor 'vgg16\.block3_conv2' \(known: "
                                             r".*vgg16\.block3_conv1, vgg16\.block4_conv1.*\)$"):
        build_extractor("vgg16.block3_conv2", weights="none")
    with pytest.raises(TunebenchError, match=r"^unknown feature extractor 'alexnet\.block3_conv1' \(known: "
                                             r"resnet50\.conv2_block3_out, .*\)$"):
        feature_dim("alexnet.block3_conv1", 32)
    with pytest.raises(TunebenchError, match=r"^unknown feature extractor 'vgg16' \("):
        extractor_sources("vgg16")


def test_extractor_refuses_unknown_weights():
    with pytest.raises(ValueError, match="weights must be one of"):
        build_extractor("vgg16.block3_conv1", weights="random")


def test_extractors_refuse_a_second_registration():
    first = EXTRACTORS.spec("vgg16.block4_conv1")
    with pytest.raises(ValueError, match="feature extractor 'vgg16.block4_conv1' is already registered"):
        EXTRACTORS.register("vgg16.block4_conv1", backbone="vgg16", cut="block4_conv1", keep=1, torchvision="",
                            channels=1, downsamplings=0)(list)
    assert EXTRACTORS.spec("vgg16.block4_conv1") is first

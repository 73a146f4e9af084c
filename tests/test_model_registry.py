"""The model registry: lookup, duplicates, the hyperparameters a model reads, and what each model declares
(ImageNet sources, input normalisation, recipe)."""

from __future__ import annotations

import inspect
import re

import pytest

from tunebench import TunebenchError
from tunebench.models import (MODELS, WEIGHTS, build_model, imagenet_sources, input_normalization, model_hparams,
                              with_recipe)
from tunebench.models.transfer import REPORT_RECIPES
from tunebench.registry import Registry


def test_unknown_model_is_a_clear_error():
    with pytest.raises(TunebenchError, match="unknown model 'lenet'"):
        build_model("lenet", 10)


def test_registry_refuses_duplicates():
    registry = Registry("thing")
    registry.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(lambda: 2)
    assert "alexnet" in MODELS.names()


def test_models_refuse_a_second_registration_and_keep_the_first():
    first = MODELS.spec("alexnet")
    with pytest.raises(ValueError, match="model 'alexnet' is already registered"):
        MODELS.register("alexnet")(lambda num_classes: None)
    assert MODELS.spec("alexnet") is first


def test_a_model_reads_its_named_and_declared_hyperparameters_only():
    assert model_hparams("tiny-cnn") == {"weights", "freeze"}
    assert model_hparams("cifar-cnn") == {"activation", "dropout_1", "dropout_2", "dropout_3", "dropout_4",
                                          "base_filters", "image_size"}
    model = build_model("cifar-cnn", 10, base_filters=8, lr=0.1, weights="none")  # a whole trial config
    assert model.features[0].out_channels == 8


# ---- weights ----------------------------------------------------------------------------------------------

WEIGHTED = [name for name in MODELS.names() if "weights" in model_hparams(name)]


def test_the_weighted_models():
    assert WEIGHTED == ["alexnet", "inception-transfer", "resnet50", "resnet50-modified", "tiny-cnn", "transfer",
                        "vgg16"]


@pytest.mark.parametrize("name", WEIGHTED)
def test_every_factory_defaults_to_no_weights_and_refuses_unknown_ones(name):
    assert inspect.signature(MODELS.get(name)).parameters["weights"].default == "none"
    with pytest.raises(ValueError, match="^" + re.escape(f"weights must be one of {WEIGHTS}, not 'random'") + "$"):
        build_model(name, 2, weights="random")


# ---- which ImageNet weights a model loads ------------------------------------------------------------------

@pytest.mark.parametrize("model,expected", [
    ("alexnet", ["alexnet"]), ("vgg16", ["vgg16"]), ("resnet50", ["resnet50"]),
    ("resnet50-modified", ["resnet50"]), ("inception-transfer", ["inception_v3"]), ("tiny-cnn", []),
    ("cifar-cnn", []), ("catsdogs-cnn", [])])
def test_imagenet_sources(model, expected):
    assert imagenet_sources(model) == expected
    assert imagenet_sources(model, {"backbone": "mobilenet_v2"}) == expected  # not a backbone model: ignored


def test_imagenet_sources_of_a_backbone_model():
    assert imagenet_sources("transfer", {"backbone": "mobilenet_v2", "lr": 0.1}) == ["mobilenet_v2"]
    assert imagenet_sources("transfer", {"backbone": "vgg16"}) == ["vgg16"]
    # no backbone named: the factory's default
    assert imagenet_sources("transfer", {}) == ["vgg16"]
    assert imagenet_sources("transfer", {"backbone": None}) == ["vgg16"]
    assert MODELS.spec("transfer").backbones == ("vgg16", "mobilenet_v2")


def test_imagenet_sources_of_an_unknown_model_is_a_one_line_error():
    with pytest.raises(TunebenchError, match=r"^unknown model 'lenet' \(known: alexnet, .*vgg16\)$"):
        imagenet_sources("lenet", {})


# ---- input normalisation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["alexnet", "resnet50-modified", "inception-transfer", "transfer"])
def test_input_normalization_follows_the_weights(model):
    assert input_normalization(model, "imagenet") == "imagenet"
    assert input_normalization(model, "none") == "scratch"


def test_input_normalization_of_an_unknown_model_is_an_error():
    with pytest.raises(TunebenchError, match="unknown model 'lenet'"):
        input_normalization("lenet", "imagenet")


# ---- recipes ----------------------------------------------------------------------------------------------

def test_with_recipe_fills_only_none_or_absent_values():
    config = {"model": "transfer", "backbone": "mobilenet_v2", "lr": None, "optimizer": "sgd", "frozen_epochs": 2}
    resolved = with_recipe(config)
    assert resolved == {"model": "transfer", "backbone": "mobilenet_v2", "lr": 1e-4, "optimizer": "sgd",
                        "frozen_epochs": 2, "fine_tune_lr": 1e-5, "fine_tune_epochs": 9}
    assert config["lr"] is None and "fine_tune_lr" not in config  # the input is left alone


def test_with_recipe_uses_the_default_backbones_recipe():
    assert with_recipe({"model": "transfer"}) == {"model": "transfer", **REPORT_RECIPES["vgg16"]}
    assert with_recipe({"model": "transfer", "momentum": 0.5})["momentum"] == 0.5


@pytest.mark.parametrize("config", [{"lr": None}, {"model": "resnet50", "lr": None}, {"model": "linear-svm"}])
def test_with_recipe_leaves_configs_without_a_recipe_unchanged(config):
    resolved = with_recipe(config)
    assert resolved == config and resolved is not config and type(resolved) is dict

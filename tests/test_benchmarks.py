"""Every shipped benchmark: its model builds for its dataset's classes and every hyperparameter is used."""

from __future__ import annotations

import pytest
import torch
from ray import tune

from search_spaces import BENCHMARKS
from tunebench.hparams import HPARAMS
from tunebench.models import build_extractor, build_model, feature_dim, model_hparams, with_recipe
from tunebench.trainable import TRAINABLES

NUM_CLASSES = {"caltech101": 101, "artworks": 50, "cifar10": 10, "cifar5": 5, "dogs-vs-cats": 2}


def _values(benchmark, key):
    """Every value `key` takes in the benchmark: default, grid values, a choice's categories."""
    values = [benchmark.defaults[key]]
    values += list(benchmark.grid.get(key, ()))
    values += list(getattr(benchmark.tune_space().get(key), "categories", []))
    return list(dict.fromkeys(values))


def _config(benchmark, **overrides):
    smoke = {k: v for k, v in benchmark.smoke.items() if k in benchmark.defaults}
    config = {**benchmark.defaults, **smoke, "epochs": 2, "seed": 0, **overrides}
    config.setdefault("model", benchmark.model)
    return with_recipe(config)


def test_nine_benchmarks_are_registered():
    assert len(BENCHMARKS) == 9 and {"resnet50-artworks", "cnn-cifar10", "inception-cifar10", "cnn-catsdogs",
                                     "transfer-catsdogs", "featx-cifar5"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_every_hyperparameter_is_read_by_the_trainable_or_the_model(name):
    benchmark = BENCHMARKS[name]
    read = set(TRAINABLES[benchmark.trainer].KEYS)
    if benchmark.trainer == "epochs":
        for model in _values(benchmark, "model") if "model" in benchmark.defaults else [benchmark.model]:
            read |= model_hparams(model)
    keys = set(benchmark.defaults) | set(benchmark.space) | set(benchmark.grid) | set(benchmark.smoke) - {
        "max_epochs", "num_samples"}
    assert keys <= read, f"never read: {sorted(keys - read)}"
    assert keys <= set(HPARAMS), f"not settable with --set: {sorted(keys - set(HPARAMS))}"


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_model_builds_for_the_datasets_classes(name):
    benchmark = BENCHMARKS[name]
    classes = NUM_CLASSES[benchmark.dataset]
    if benchmark.trainer == "feature-svm":
        for extractor in _values(benchmark, "extractor"):
            config = _config(benchmark, extractor=extractor)
            features = build_extractor(extractor, weights="none")(
                torch.rand(2, 3, config["image_size"], config["image_size"]))
            assert features.shape == (2, feature_dim(extractor, config["image_size"]))
        return
    models = _values(benchmark, "model") if "model" in benchmark.defaults else [benchmark.model]
    backbones = _values(benchmark, "backbone") if "backbone" in benchmark.defaults else [None]
    for model in models:
        for backbone in backbones:
            config = _config(benchmark, model=model, weights="none", **({"backbone": backbone} if backbone else {}))
            outputs = 1 if config.get("loss") == "bce" else classes
            net = build_model(model, outputs, **config).eval()
            channels = 1 if config.get("color") == "grayscale" else 3
            size = config["image_size"]
            with torch.no_grad():
                assert net(torch.rand(2, channels, size, size)).shape == (2, outputs), (model, backbone)


def test_deferred_domains_are_ray_tunes_when_built():
    """The shipped spaces write `tune.loguniform(...)` without importing Ray; a search gets Ray Tune's domain."""
    from ray.tune.search.sample import Categorical, Float

    from tunebench.benchmark import tune as deferred, tune_domains

    built = tune_domains({"lr": deferred.loguniform(1e-3, 1e-1), "step_size": deferred.choice([5, 10]),
                          "gamma": tune.uniform(0.1, 0.5)})
    assert isinstance(built["lr"], Float) and (built["lr"].lower, built["lr"].upper) == (1e-3, 1e-1)
    assert type(built["lr"].get_sampler()).__name__ == "_LogUniform"
    assert isinstance(built["step_size"], Categorical) and built["step_size"].categories == [5, 10]
    assert isinstance(built["gamma"], Float)  # Ray's own domains pass through
    with pytest.raises(AttributeError, match="logunifrom: not a Ray Tune domain"):
        deferred.logunifrom(1e-3, 1e-1)


def test_space_domains_are_tune_domains():
    for benchmark in BENCHMARKS.values():
        assert all(isinstance(d, tune.search.sample.Domain) for d in benchmark.tune_space().values()), benchmark.name

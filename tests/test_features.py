"""Report 000's frozen features: extracted once per split and extractor, then read back from the cache; the SVM."""

from __future__ import annotations

import numpy as np

from tests.fixture_data import build_cifar_batches
from tunebench.data import build_dataset
from tunebench.features import FeatureSettings, fit_linear_svm, load_features


def _settings(tmp_path, **overrides) -> FeatureSettings:
    config = {"extractor": "vgg16.block3_conv1", "weights": "none", "image_size": 32, "batch_size": 16,
              "C": 1.0, "feature_cache": str(tmp_path / "features"), **overrides}
    return FeatureSettings.of(config)


def test_normalisation_follows_the_extractors_weights(tmp_path):
    assert _settings(tmp_path, weights="imagenet").data.normalize == "imagenet"
    assert _settings(tmp_path).data.normalize == "scratch"
    assert _settings(tmp_path, normalize="unit").data.normalize == "unit"


def test_features_are_extracted_once_and_read_back(tmp_path, capsys):
    build_cifar_batches(tmp_path / "data")
    splits = build_dataset("cifar5", tmp_path / "data", limit_per_class=2)
    settings = _settings(tmp_path)
    first = load_features(settings, splits, ("train", "val"))
    assert capsys.readouterr().out.count("extracting vgg16.block3_conv1") == 2
    again = load_features(settings, splits, ("train", "val"))
    assert "extracting" not in capsys.readouterr().out
    assert first["train"].shape == (len(splits.train), 256 * 8 * 8)
    assert np.array_equal(first["train"], again["train"]) and np.array_equal(first["val"], again["val"])
    load_features(_settings(tmp_path, extractor="vgg16.block4_conv1"), splits, ("val",))
    assert "extracting vgg16.block4_conv1" in capsys.readouterr().out  # another extractor: its own file
    assert len(list((tmp_path / "features").glob("*.npy"))) == 3


def test_the_svm_separates_separable_features(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    features = rng.normal(size=(60, 8)) + labels[:, None] * 4.0
    classifier = fit_linear_svm(features, list(zip(range(60), labels)), _settings(tmp_path))
    assert (classifier.predict(features) == labels).mean() == 1.0

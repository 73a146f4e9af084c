"""Frozen-backbone features and the linear SVM on them (report 000): plain PyTorch + scikit-learn, no Ray.

Features of a split are extracted once per (dataset samples, extractor, image size, weights) and cached as .npy
files, so the trials of a search that share an extractor (and later searches) only pay for the SVM. A file lock
keeps two trials from extracting the same features at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch
from filelock import FileLock
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from tunebench.data import ImageSplits
from tunebench.data.batches import make_batches
from tunebench.data.cache import cache_root
from tunebench.models import extractor_normalization
from tunebench.settings import DataSettings, FitSettings, ModelSettings, SVMSettings, from_config, keys
from tunebench.train import default_device


@dataclass(frozen=True)
class FeatureSettings:
    """A feature-svm trial's config dict, typed; `data.normalize` resolved from the extractor's weights."""

    svm: SVMSettings
    data: DataSettings
    weights: str
    seed: int

    KEYS = keys(SVMSettings, DataSettings) | {"model", "weights", "epochs", "seed"}

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> FeatureSettings:
        svm, data = from_config(SVMSettings, config), from_config(DataSettings, config)
        weights = from_config(ModelSettings, config).weights
        if data.normalize == "auto":
            data = replace(data, normalize=extractor_normalization(svm.extractor, weights))
        return cls(svm, data, weights, from_config(FitSettings, config).seed)


def cache_dir(settings: FeatureSettings) -> Path:
    """The settings' feature_cache, else $TUNEBENCH_CACHE/features, else ~/.cache/tunebench/features."""
    return Path(settings.svm.feature_cache or cache_root() / "features")


def _cache_key(settings: FeatureSettings, splits: ImageSplits, part: str) -> str:
    identity = {"extractor": settings.svm.extractor, "image_size": settings.data.image_size,
                "weights": settings.weights, "normalize": settings.data.normalize,
                "samples": [[str(k), label] for k, label in getattr(splits, part)]}
    return hashlib.sha1(json.dumps(identity).encode()).hexdigest()[:16]


@torch.no_grad()
def extract(settings: FeatureSettings, splits: ImageSplits, part: str) -> np.ndarray:
    """(samples, features) float32 of one split through the frozen extractor."""
    from tunebench.models.feature_extractors import build_extractor

    device = default_device()
    extractor = build_extractor(settings.svm.extractor, weights=settings.weights).to(device).eval()
    loader = make_batches(settings.data, splits, part, train=False, seed=0, device=device)
    batches = [extractor(images.to(device)).float().cpu().numpy() for images, _ in loader]
    return np.concatenate(batches) if batches else np.empty((0, 0), dtype=np.float32)


def load_features(settings: FeatureSettings, splits: ImageSplits, parts: Iterable[str]) -> dict[str, np.ndarray]:
    """Each part's features, from the cache or extracted now and cached."""
    folder = cache_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = settings.svm.extractor
    features = {}
    for part in parts:
        path = folder / f"{name}-{part}-{_cache_key(settings, splits, part)}.npy"
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                print(f"extracting {name} features of {len(getattr(splits, part))} {part} images")
                array = extract(settings, splits, part)
                np.save(path.with_suffix(".tmp.npy"), array)
                os.replace(path.with_suffix(".tmp.npy"), path)
        features[part] = np.load(path, mmap_mode="r")
    return features


def fit_linear_svm(features: np.ndarray, samples, settings: FeatureSettings) -> Pipeline:
    """Standardise with the training features' statistics, then a linear SVM with L2 penalty and squared hinge
    loss (report 000: scikit-learn's LinearSVC, 1000 iterations)."""
    labels = np.array([label for _, label in samples])
    classifier = make_pipeline(StandardScaler(), LinearSVC(C=settings.svm.C, penalty="l2", loss="squared_hinge",
                                                           max_iter=settings.svm.max_iter,
                                                           random_state=settings.seed))
    return classifier.fit(np.asarray(features), labels)

"""Frozen-backbone features and the linear SVM on them (report 000): plain PyTorch + scikit-learn, no Ray.

Features of a split are extracted once per (dataset samples, extractor, image size, weights) and cached as .npy
files, so the trials of a search that share an extractor (and later searches) only pay for the SVM. A file lock
keeps two trials from extracting the same features at once.
"""

from __future__ import annotations

import hashlib
import json
import os
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
from tunebench.train import default_device


def cache_dir(config: Mapping[str, Any]) -> Path:
    """config's feature_cache, else $TUNEBENCH_CACHE/features, else ~/.cache/tunebench/features."""
    return Path(config.get("feature_cache") or cache_root() / "features")


def split_extractor(extractor: str) -> tuple[str, str]:
    """'vgg16.block4_conv1' -> ('vgg16', 'block4_conv1')."""
    backbone, _, cut = extractor.partition(".")
    return backbone, cut


def _cache_key(config: Mapping[str, Any], splits: ImageSplits, part: str) -> str:
    identity = {"extractor": config["extractor"], "image_size": config["image_size"],
                "weights": config.get("weights", "imagenet"), "normalize": config.get("normalize", "auto"),
                "samples": [[str(k), label] for k, label in getattr(splits, part)]}
    return hashlib.sha1(json.dumps(identity).encode()).hexdigest()[:16]


@torch.no_grad()
def extract(config: Mapping[str, Any], splits: ImageSplits, part: str) -> np.ndarray:
    """(samples, features) float32 of one split through the frozen extractor."""
    from tunebench.models.feature_extractors import build_extractor

    device = default_device()
    extractor = build_extractor(*split_extractor(config["extractor"]), weights=config.get("weights", "imagenet"))
    extractor = extractor.to(device).eval()
    loader = make_batches(config, splits, part, train=False, seed=0, device=device)
    batches = [extractor(images.to(device)).float().cpu().numpy() for images, _ in loader]
    return np.concatenate(batches) if batches else np.empty((0, 0), dtype=np.float32)


def load_features(config: Mapping[str, Any], splits: ImageSplits, parts: Iterable[str]) -> dict[str, np.ndarray]:
    """Each part's features, from the cache or extracted now and cached."""
    folder = cache_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    features = {}
    for part in parts:
        path = folder / f"{config['extractor']}-{part}-{_cache_key(config, splits, part)}.npy"
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                print(f"extracting {config['extractor']} features of {len(getattr(splits, part))} {part} images")
                array = extract(config, splits, part)
                np.save(path.with_suffix(".tmp.npy"), array)
                os.replace(path.with_suffix(".tmp.npy"), path)
        features[part] = np.load(path, mmap_mode="r")
    return features


def fit_linear_svm(features: np.ndarray, samples, config: Mapping[str, Any]) -> Pipeline:
    """Standardise with the training features' statistics, then a linear SVM with L2 penalty and squared hinge
    loss (report 000: scikit-learn's LinearSVC, 1000 iterations)."""
    labels = np.array([label for _, label in samples])
    classifier = make_pipeline(StandardScaler(), LinearSVC(C=config["C"], penalty="l2", loss="squared_hinge",
                                                           max_iter=config.get("max_iter", 1000),
                                                           random_state=config.get("seed", 0)))
    return classifier.fit(np.asarray(features), labels)

"""Deterministic stratified splits and per-class limits."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from typing import Sequence

from tunebench.data.images import ImageSplits, Sample

SPLIT_SEED = 0  # the split is part of the dataset, not of the search: every search sees the same one


def stratified_split(samples: Sequence[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split samples into (rest, part) with `fraction` of every class in `part`.

    Deterministic for a given seed; a class with two or more samples keeps at least one on each side.
    """
    by_class: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_class[sample[1]].append(sample)
    rest: list[Sample] = []
    part: list[Sample] = []
    for label in sorted(by_class):
        members = sorted(by_class[label])
        random.Random(seed * 100_003 + label).shuffle(members)
        k = round(len(members) * fraction)
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        part.extend(members[:k])
        rest.extend(members[k:])
    return sorted(rest), sorted(part)


def train_val_test(samples: Sequence[Sample], test: float,
                   val: float) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """Stratified (train, val, test) with fractions `test` and `val` of all samples (test split off first)."""
    rest, test_part = stratified_split(samples, test, SPLIT_SEED)
    train, val_part = stratified_split(rest, val / (1 - test), SPLIT_SEED)
    return train, val_part, test_part


def first_per_class(samples: Sequence[Sample], limit: int | None) -> list[Sample]:
    """The first `limit` samples of every class (in file order); all of them when limit is None."""
    if limit is None:
        return list(samples)
    seen: dict[int, int] = defaultdict(int)
    kept = []
    for sample in sorted(samples):
        if seen[sample[1]] < limit:
            seen[sample[1]] += 1
            kept.append(sample)
    return kept


def limited(splits: ImageSplits, limit_per_class: int | None) -> ImageSplits:
    """The splits with only the first `limit_per_class` samples of every class in each of train, val and test
    (first_per_class); the same splits when the limit is None."""
    if limit_per_class is None:
        return splits
    return replace(splits, train=first_per_class(splits.train, limit_per_class),
                   val=first_per_class(splits.val, limit_per_class), test=first_per_class(splits.test, limit_per_class))

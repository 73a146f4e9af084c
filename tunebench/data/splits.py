"""Deterministic stratified splits and per-class limits."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import replace
from typing import Sequence

from tunebench import TunebenchError
from tunebench.data.images import ImageSplits, Sample

SPLIT_SEED = 0  # the split is part of the dataset, not of the search: every search sees the same one
RATIOS = re.compile(r"(\d+)/(\d+)/(\d+)")
RATIOS_HELP = "TRAIN/VAL/TEST percentages, whole numbers summing to 100 with each above 0, e.g. 80/10/10 or 70/15/15"


def ratio_problem(split: str) -> str | None:
    """What is wrong with a "TRAIN/VAL/TEST" split of percentages, or None: whole numbers, summing to 100,
    each above 0 (the train, val and test splits each get images)."""
    match = RATIOS.fullmatch(split.strip()) if isinstance(split, str) else None
    if match is None:
        return f"expected {RATIOS_HELP}"
    parts = [int(number) for number in match.groups()]
    if sum(parts) != 100:
        return f"the percentages sum to {sum(parts)}, not 100 (expected {RATIOS_HELP})"
    empty = [name for name, part in zip(("TRAIN", "VAL", "TEST"), parts) if part == 0]
    if empty:
        return f"{' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} 0 (expected {RATIOS_HELP})"
    return None


def ratio_fractions(split: str) -> tuple[float, float]:
    """(test, val): the fractions of all images a "TRAIN/VAL/TEST" split of percentages puts in test and val
    ("80/10/10" -> (0.1, 0.1), "64/16/20" -> (0.2, 0.16)); a one-line error for a bad split."""
    problem = ratio_problem(split)
    if problem:
        raise TunebenchError(f"split {split!r}: {problem}")
    _, val, test = (int(number) for number in RATIOS.fullmatch(split.strip()).groups())
    return test / 100, val / 100


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

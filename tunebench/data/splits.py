"""Deterministic stratified splits, per-class limits, and the image check between listing files and using them."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import replace
from typing import Callable, Sequence

from tunebench import TunebenchError
from tunebench.data.images import ImageSplits, Sample, find_unreadable

PARTS = ("train", "val", "test")
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


def readable(samples: Sequence[Sample], split: Callable[[list[Sample]], ImageSplits], limit_per_class: int | None,
             progress: Callable[[str], None] | None = None, name: str = "") -> ImageSplits:
    """A dataset's splits of its listed image files, `split(samples)`, with the files that cannot be read left out
    and added to `skipped` (find_unreadable; `progress` and `name` for its lines).

    Without a limit every file is checked first and the readable ones are split. With `limit_per_class`, only the
    images a run uses are checked: the listed files are split, and each split keeps the first `limit_per_class`
    readable images of every class, an unreadable one replaced by the next of its class and split (first_per_class
    order), so a smoke run decodes a few hundred images, not the whole set. Both are deterministic; with no
    unreadable file the limited splits are exactly the limited full ones.
    """
    if limit_per_class is None:
        unreadable = find_unreadable([path for path, _ in samples], progress, name)
        splits = split([sample for sample in samples if sample[0] not in unreadable])
    else:
        splits, unreadable = _first_readable(split(list(samples)), limit_per_class, progress, name)
    return replace(splits, skipped=splits.skipped + sorted(unreadable.items()))


def _first_readable(splits: ImageSplits, limit: int, progress: Callable[[str], None] | None,
                    name: str) -> tuple[ImageSplits, dict[str, str]]:
    """The splits limited to the first `limit` readable samples per class, checking those, then the replacements
    of the unreadable ones among them, until every class is full or out of images; and the unreadable found."""
    unreadable: dict[str, str] = {}
    checked: set[str] = set()
    while True:
        kept = {part: first_per_class([s for s in getattr(splits, part) if s[0] not in unreadable], limit)
                for part in PARTS}
        todo = [path for part in kept.values() for path, _ in part if path not in checked]
        if not todo:
            return replace(splits, **kept), unreadable
        unreadable.update(find_unreadable(todo, None if checked else progress, name))  # replacements: no header
        checked.update(todo)

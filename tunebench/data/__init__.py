"""Datasets in their real on-disk formats, their splits and transforms."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Callable

from tunebench import TunebenchError
from tunebench.data import artworks as _artworks  # registers "artworks"
from tunebench.data import caltech101 as _caltech101  # registers "caltech101"
from tunebench.data import cifar as _cifar  # registers "cifar10", "cifar5"
from tunebench.data import dogs_vs_cats as _dogs_vs_cats  # registers "dogs-vs-cats"
from tunebench.data import folder as _folder  # registers "folder"
from tunebench.data.download import DatasetNotFound
from tunebench.data.images import ImageSplits, Sample, load_rgb
from tunebench.data.registry import DATASETS, DatasetSpec

__all__ = ["DATASETS", "DatasetNotFound", "DatasetSpec", "ImageSplits", "Sample", "build_dataset", "load_rgb",
           "resolve_data_dir", "split_choices", "split_problem"]

_REGISTERED_BY = (_artworks, _caltech101, _cifar, _dogs_vs_cats, _folder)  # the modules whose import fills DATASETS


def resolve_data_dir(cli_value: str | None) -> Path:
    """--data-dir, else $TUNEBENCH_DATA, else ./data."""
    return Path(cli_value or os.environ.get("TUNEBENCH_DATA") or "data").expanduser().resolve()


def split_choices() -> tuple[str, ...]:
    """Every registered dataset's split choices, each once, in the order the datasets declare them (the values a
    `split` setting may take)."""
    return tuple(dict.fromkeys(split for spec in DATASETS.specs().values() for split in spec.splits))


def split_problem(split: str) -> str | None:
    """What is wrong with a `split` setting, or None when some registered dataset takes it (a named choice, or
    "TRAIN/VAL/TEST" percentages where a dataset takes any): the check `--set split=` and search-space files get
    before the dataset is known to the loader."""
    problems = [spec.split_problem(split) for spec in DATASETS.specs().values() if spec.takes_split]
    if not problems or None in problems:
        return None
    ratios = [spec.split_problem(split) for spec in DATASETS.specs().values() if spec.ratios]
    return ratios[0] if ratios else f"must be one of {', '.join(split_choices())}"


def build_dataset(name: str, data_dir: Path, *, limit_per_class: int | None = None, download: bool = False,
                  progress: Callable[[str], None] | None = None, split: str | None = None) -> ImageSplits:
    """The named dataset's splits; `split` picks one of the dataset's split choices (its default when None).
    `download` fetches a dataset that declares it can download itself and is not in data_dir yet."""
    spec = DATASETS.spec(name)
    arguments = _arguments(name, spec, split, download)
    if data_dir.exists() and not data_dir.is_dir():
        raise TunebenchError(f"data directory {data_dir} is a file, not a folder (set --data-dir to the folder "
                             f"that holds the dataset)")
    if not data_dir.exists() and not download:
        raise TunebenchError(f"data directory {data_dir} does not exist (set --data-dir or TUNEBENCH_DATA)")
    try:
        splits = spec.build(data_dir, limit_per_class=limit_per_class, progress=progress, **arguments)
    except DatasetNotFound as missing:
        if download and not spec.downloads:
            raise missing.cannot_download() from None
        raise
    splits.name = name
    _check_every_class_has_images(splits)
    return splits


def _arguments(name: str, spec: DatasetSpec, split: str | None, download: bool) -> dict:
    """The builder's `split` (datasets that take one) and `download_missing` (datasets that download)."""
    arguments: dict = {}
    if spec.takes_split:
        problem = None if split is None else spec.split_problem(split)
        if problem and not spec.ratios:
            raise TunebenchError(f"unknown split {split!r} for {name} ({problem})")
        if problem:
            raise TunebenchError(f"split {split!r} for {name}: {problem}")
        arguments["split"] = split or spec.default_split
    elif split is not None:
        raise TunebenchError(f"dataset '{name}' has a fixed split; it takes no split choice (got {split!r})")
    if spec.downloads:
        arguments["download_missing"] = download
    return arguments


def _check_every_class_has_images(splits: ImageSplits) -> None:
    """A class whose every image was unreadable would still be a model output, never seen in training."""
    counts = Counter(label for part in (splits.train, splits.val, splits.test) for _, label in part)
    for index, name in enumerate(splits.classes):
        if counts[index] == 0:
            own = [(path, reason) for path, reason in splits.skipped if Path(path).parent.name == name]
            detail = f": all {len(own)} of its images were skipped, e.g. {own[0][0]} ({own[0][1]})" if own else ""
            raise TunebenchError(f"class '{name}' has no readable images{detail}")

"""Datasets in their real on-disk formats, their splits and transforms."""

from __future__ import annotations

import inspect
import os
from collections import Counter
from pathlib import Path
from typing import Callable

from tunebench import TunebenchError
from tunebench.data import artworks as _artworks  # noqa: F401  (registers "artworks")
from tunebench.data import caltech101 as _caltech101  # noqa: F401  (registers "caltech101")
from tunebench.data import cifar as _cifar  # noqa: F401  (registers "cifar10", "cifar5")
from tunebench.data import dogs_vs_cats as _dogs_vs_cats  # noqa: F401  (registers "dogs-vs-cats")
from tunebench.data.images import ImageSplits, Sample, load_rgb
from tunebench.data.registry import DATASETS

__all__ = ["DATASETS", "ImageSplits", "Sample", "build_dataset", "load_rgb", "resolve_data_dir"]


def resolve_data_dir(cli_value: str | None) -> Path:
    """--data-dir, else $TUNEBENCH_DATA, else ./data."""
    return Path(cli_value or os.environ.get("TUNEBENCH_DATA") or "data").expanduser().resolve()


def build_dataset(name: str, data_dir: Path, *, limit_per_class: int | None = None, download: bool = False,
                  progress: Callable[[str], None] | None = None, split: str | None = None) -> ImageSplits:
    """The named dataset's splits; `split` picks one of the dataset's split choices where it offers some."""
    builder = DATASETS.get(name)
    extra = {}
    if split is not None:
        if "split" not in inspect.signature(builder).parameters:
            raise TunebenchError(f"dataset '{name}' has a fixed split; it takes no split choice (got {split!r})")
        extra["split"] = split
    if data_dir.exists() and not data_dir.is_dir():
        raise TunebenchError(f"data directory {data_dir} is a file, not a folder (set --data-dir to the folder "
                             f"that holds the dataset)")
    if not data_dir.exists() and not download:
        raise TunebenchError(f"data directory {data_dir} does not exist (set --data-dir or TUNEBENCH_DATA)")
    splits = builder(data_dir, limit_per_class=limit_per_class, download_missing=download, progress=progress,
                     **extra)
    splits.name = name
    _check_every_class_has_images(splits)
    return splits


def _check_every_class_has_images(splits: ImageSplits) -> None:
    """A class whose every image was unreadable would still be a model output, never seen in training."""
    counts = Counter(label for part in (splits.train, splits.val, splits.test) for _, label in part)
    for index, name in enumerate(splits.classes):
        if counts[index] == 0:
            own = [(path, reason) for path, reason in splits.skipped if Path(path).parent.name == name]
            detail = f": all {len(own)} of its images were skipped, e.g. {own[0][0]} ({own[0][1]})" if own else ""
            raise TunebenchError(f"class '{name}' has no readable images{detail}")

"""Kaggle Dogs vs Cats in its `train.zip` layout: one flat folder of `cat.N.jpg` and `dog.N.jpg`.

The label is the file-name prefix; classes are ["cat", "dog"] (cat=0, dog=1, Keras' alphabetical order).
Other files, such as Kaggle's unlabelled `test1/`, are ignored. The real set holds a few files that cannot be
decoded; they are skipped and reported. The split is stratified, test first, then val from the rest:
"80/10/10" (the report's best) or "64/16/20".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from tunebench import TunebenchError
from tunebench.data.download import DatasetNotFound
from tunebench.data.images import ImageSplits, Sample, find_unreadable
from tunebench.data.registry import DATASETS
from tunebench.data.splits import SPLIT_SEED, limited, train_val_test

CLASSES = ["cat", "dog"]
KAGGLE = "kaggle competitions download -c dogs-vs-cats"
FILE_NAME = re.compile(r"(cat|dog)\.\d+\.jpe?g", re.IGNORECASE)
SPLITS = {"80/10/10": (0.10, 0.10), "64/16/20": (0.20, 0.16)}  # (test, val) fractions of all images
DEFAULT_SPLIT = "80/10/10"


def _labelled(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if FILE_NAME.fullmatch(p.name) and p.is_file())


def find_train_folder(data_dir: Path) -> Path | None:
    """data_dir/train, data_dir/dogs-vs-cats/train, or data_dir itself when it holds cat.N.jpg files."""
    for candidate in (data_dir / "train", data_dir / "dogs-vs-cats" / "train", data_dir):
        if _labelled(candidate):
            return candidate
    return None


@DATASETS.register("dogs-vs-cats", splits=tuple(SPLITS), default_split=DEFAULT_SPLIT, downloads=False)  # Kaggle
def dogs_vs_cats(data_dir: Path, *, split: str, limit_per_class: int | None = None,
                 progress: Callable[[str], None] | None = None) -> ImageSplits:
    folder = find_train_folder(data_dir)
    if folder is None:
        raise DatasetNotFound(
            f"Dogs vs Cats not found in {data_dir}: expected {data_dir}/train/cat.N.jpg and dog.N.jpg",
            f"run `{KAGGLE}` and unpack train.zip into {data_dir}")

    samples: list[Sample] = [(str(p), CLASSES.index(p.name.split(".", 1)[0].lower())) for p in _labelled(folder)]
    for label, name in enumerate(CLASSES):
        if not any(y == label for _, y in samples):
            raise TunebenchError(f"no {name}.N.jpg images in {folder} (expected both cats and dogs)")
    unreadable = find_unreadable([path for path, _ in samples], progress)
    samples = [s for s in samples if s[0] not in unreadable]
    test_fraction, val_fraction = SPLITS[split]
    train, val, test = train_val_test(samples, test=test_fraction, val=val_fraction)
    return limited(ImageSplits(list(CLASSES), train, val, test, sorted(unreadable.items()),
                               f"stratified {split} (seed {SPLIT_SEED})"), limit_per_class)

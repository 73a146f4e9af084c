"""Kaggle Dogs vs Cats in its `train.zip` layout: one flat folder of `cat.N.jpg` and `dog.N.jpg`; or in class
folders as Keras' flow_from_directory reads it: `cats/` and `dogs/` (or `cat/` and `dog/`, any letter case), flat
or pre-split as `{train, validation|val|valid[, test]}/{cats,dogs}/` (data.folder reads those).

In the Kaggle layout the label is the file-name prefix; classes are ["cat", "dog"] (cat=0, dog=1, Keras'
alphabetical order) in every layout. Other files, such as Kaggle's unlabelled `test1/`, are ignored. The real set
holds a few files that cannot be decoded; they are skipped and reported. The split is stratified, test first, then
val from the rest: "80/10/10" (the report's best), "64/16/20", or any other "TRAIN/VAL/TEST" percentages; a
pre-split tree keeps its parts (a missing test or val part is carved out of train/, data.folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from tunebench import TunebenchError
from tunebench.data.download import DatasetNotFound
from tunebench.data.images import ImageSplits, Sample, files_in
from tunebench.data.folder import Tree, find_tree, read_tree, subfolders
from tunebench.data.registry import DATASETS
from tunebench.data.splits import SPLIT_SEED, ratio_fractions, readable, train_val_test

CLASSES = ["cat", "dog"]
KAGGLE = "kaggle competitions download -c dogs-vs-cats"
FILE_NAME = re.compile(r"(cat|dog)\.\d+\.jpe?g", re.IGNORECASE)
SPLITS = ("80/10/10", "64/16/20")  # the report's; any other TRAIN/VAL/TEST percentages are taken too
DEFAULT_SPLIT = "80/10/10"
FOLDER_NAMES = {name: label for label in CLASSES for name in (label, label + "s")}  # cats/ or cat/, any case
ROOTS = ("", "dogs-vs-cats", "cats_and_dogs_filtered")  # data_dir itself, or these folders in it


def _labelled(folder: Path) -> list[str]:
    """The cat.N.jpg and dog.N.jpg files in folder, sorted paths."""
    if not folder.is_dir():
        return []
    return [path for path in files_in(folder) if FILE_NAME.fullmatch(os.path.basename(path))]


def find_train_folder(data_dir: Path) -> Path | None:
    """data_dir/train, data_dir/dogs-vs-cats/train, or data_dir itself when it holds cat.N.jpg files."""
    for candidate in (data_dir / "train", data_dir / "dogs-vs-cats" / "train", data_dir):
        if _labelled(candidate):
            return candidate
    return None


def find_class_folders(data_dir: Path) -> Tree | None:
    """The first of data_dir, data_dir/dogs-vs-cats and data_dir/cats_and_dogs_filtered (Keras' download) whose
    class folders (in train/ when it is pre-split) include cats/ or dogs/ (cat/, dog/; any case)."""
    for candidate in (data_dir / name if name else data_dir for name in ROOTS):
        if candidate.is_dir():
            try:
                tree = find_tree(candidate)
            except DatasetNotFound:  # e.g. val/ and test/ but no train/: not Dogs vs Cats as it reads them
                continue
            if any(folder.name.lower() in FOLDER_NAMES for folder in subfolders(tree.base)):
                return tree
    return None


def folder_class(folder: Path) -> str:
    """The class of a class folder: cats/ or cat/ (any case) is "cat", dogs/ or dog/ "dog"; another is an error."""
    label = FOLDER_NAMES.get(folder.name.lower())
    if label is None:
        raise TunebenchError(f"class folder {folder} is neither cats nor dogs: Dogs vs Cats reads cats/ and dogs/ "
                             f"(or cat/ and dog/); other classes are the folder dataset's (--dataset folder)")
    return label


def not_found(data_dir: Path) -> DatasetNotFound:
    return DatasetNotFound(
        f"Dogs vs Cats not found in {data_dir}: expected {data_dir}/train/cat.N.jpg and dog.N.jpg (Kaggle), "
        f"{data_dir}/{{cats,dogs}}/<image>, or {data_dir}/{{train,validation[,test]}}/{{cats,dogs}}/<image> "
        f"(Keras; cat/ and dog/ too)", f"run `{KAGGLE}` and unpack train.zip into {data_dir}")


@DATASETS.register("dogs-vs-cats", splits=SPLITS, ratios=True, default_split=DEFAULT_SPLIT, downloads=False)  # Kaggle
def dogs_vs_cats(data_dir: Path, *, split: str, limit_per_class: int | None = None,
                 progress: Callable[[str], None] | None = None) -> ImageSplits:
    folder = find_train_folder(data_dir)
    if folder is None:
        tree = find_class_folders(data_dir)
        if tree is None:
            raise not_found(data_dir)
        return read_tree(tree, split, progress, name_of=folder_class, classes=list(CLASSES),
                         limit_per_class=limit_per_class, dataset="dogs-vs-cats")

    samples: list[Sample] = [(path, CLASSES.index(os.path.basename(path).split(".", 1)[0].lower()))
                             for path in _labelled(folder)]
    for label, name in enumerate(CLASSES):
        if not any(y == label for _, y in samples):
            raise TunebenchError(f"no {name}.N.jpg images in {folder} (expected both cats and dogs)")
    test_fraction, val_fraction = ratio_fractions(split)

    def split_readable(readable_samples: list[Sample]) -> ImageSplits:
        train, val, test = train_val_test(readable_samples, test=test_fraction, val=val_fraction)
        return ImageSplits(list(CLASSES), train, val, test, [], f"stratified {split} (seed {SPLIT_SEED})")
    return readable(samples, split_readable, limit_per_class, progress, "dogs-vs-cats")

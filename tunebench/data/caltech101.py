"""Caltech101 in its original archive layout: `101_ObjectCategories/<class>/image_NNNN.jpg`.

BACKGROUND_Google is not a class and is dropped (101 classes, 8677 images). When the report's split files
`train.txt` / `test.txt` (lines `class/image_NNNN.jpg`) sit beside `101_ObjectCategories` they define the
train/test split; otherwise a deterministic stratified 2:1 split is made. The train part is then split
50/50 stratified into train and val, as in the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tunebench import TunebenchError
from tunebench.data.download import DatasetNotFound, torchvision_download
from tunebench.data.images import ImageSplits, Sample, files_in, is_image_file
from tunebench.data.registry import DATASETS
from tunebench.data.splits import SPLIT_SEED, readable, stratified_split

CATEGORIES = "101_ObjectCategories"
NOT_A_CLASS = "BACKGROUND_Google"


def find_root(data_dir: Path) -> Path | None:
    """The folder holding 101_ObjectCategories: data_dir itself or data_dir/caltech101."""
    for candidate in (data_dir, data_dir / "caltech101"):
        if (candidate / CATEGORIES).is_dir():
            return candidate
    return None


def download(data_dir: Path) -> None:
    """Fetch and unpack the official Caltech101 archive into data_dir/caltech101 (needs internet)."""
    torchvision_download("Caltech101", data_dir, "Caltech101",
                         f"download caltech-101.zip from https://data.caltech.edu/records/mzrjq-6wc02 and unpack its "
                         f"101_ObjectCategories.tar.gz into {data_dir / 'caltech101'}")


def _read_split_file(path: Path, index: dict[str, int], root: Path, skipped: list,
                     listed: set[str]) -> list[Sample]:
    """The samples a split file lists; a line naming no class folder's file is skipped as missing (`listed`: the
    files the class folders hold, so that only a line naming something else costs a stat)."""
    samples = []
    for line in path.read_text().split():
        class_name = line.split("/", 1)[0]
        if class_name == NOT_A_CLASS:
            continue
        image = root / CATEGORIES / line
        if class_name not in index or (str(image) not in listed and not image.is_file()):
            skipped.append((str(image), f"listed in {path.name} but missing"))
            continue
        samples.append((str(image), index[class_name]))
    return samples


@DATASETS.register("caltech101", downloads=True)
def caltech101(data_dir: Path, *, limit_per_class: int | None = None, download_missing: bool = False,
               progress: Callable[[str], None] | None = None) -> ImageSplits:
    root = find_root(data_dir)
    if root is None and download_missing:
        download(data_dir)
        root = find_root(data_dir)
    if root is None:
        raise DatasetNotFound(
            f"Caltech101 not found in {data_dir}: expected {data_dir}/{CATEGORIES}/<class>/image_NNNN.jpg",
            "pass --download to fetch it, or unpack 101_ObjectCategories.tar.gz there")

    class_dirs = sorted(d for d in (root / CATEGORIES).iterdir()
                        if d.is_dir() and d.name != NOT_A_CLASS and not d.name.startswith("."))
    if not class_dirs:
        raise TunebenchError(f"no class folders in {root / CATEGORIES}")
    classes = [d.name for d in class_dirs]
    index = {name: i for i, name in enumerate(classes)}
    files = {d.name: files_in(d) for d in class_dirs}
    per_class = {name: [path for path in listed if is_image_file(path)] for name, listed in files.items()}
    empty = [name for name, files in per_class.items() if not files]
    if empty:
        raise TunebenchError(f"class folder {root / CATEGORIES / empty[0]} has no images")

    skipped: list[tuple[str, str]] = []
    split_files = (root / "train.txt").is_file() and (root / "test.txt").is_file()
    if split_files:
        listed = {path for paths in files.values() for path in paths}
        train_pool = _read_split_file(root / "train.txt", index, root, skipped, listed)
        test = _read_split_file(root / "test.txt", index, root, skipped, listed)
        del listed
    else:
        train_pool = [(path, index[name]) for name, files in per_class.items() for path in files]
        test = []
    source = "train.txt / test.txt" if split_files else f"stratified 2:1 (seed {SPLIT_SEED})"

    def split(samples: list[Sample]) -> ImageSplits:
        kept = set(samples)
        pool, kept_test = [s for s in train_pool if s in kept], [s for s in test if s in kept]
        if not split_files:
            pool, kept_test = stratified_split(pool, 1 / 3, SPLIT_SEED)
        train, val = stratified_split(pool, 0.5, SPLIT_SEED)
        return ImageSplits(classes, train, val, kept_test, list(skipped), f"{source}, train split 50/50 into train/val")

    return readable(train_pool + test, split, limit_per_class, progress, "caltech101")

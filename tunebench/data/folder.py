"""Your own images in class folders: `DIR/<class>/<image>`, split by tunebench, or
`DIR/{train, val|valid|validation, test}/<class>/<image>`, used as given.

Flat class folders are split stratified (seed 0) by the `split` setting, "TRAIN/VAL/TEST" percentages (default
80/10/10; test first, then val from the rest, as for Dogs vs Cats). A pre-split tree keeps its parts; a missing test
part is carved out of train/ (the split's TEST percentage of train/, stratified, seed 0), a missing val part likewise
(its VAL percentage); a tree of train/ alone is split as flat folders are. A class folder in val/ or test/ without one
in train/ is an error.

Classes are the class folders' names (Unicode NFC, so a folder unpacked in NFD matches its NFC twin), sorted as
torchvision's ImageFolder sorts them; a folder that holds no image is no class. Images count at any depth below
their class folder (as ImageFolder finds them), by extension: every format Pillow decodes (jpg, png, bmp, gif, tiff,
webp, ...). Hidden folders and files (and macOS' `__MACOSX`) are ignored; unreadable images are skipped and
reported (ImageSplits.skipped), and so are the top-level folders of a pre-split tree that name no split, and its
split folders without class folders or without images (a test/ of unlabelled images: test is carved out of train/).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from tunebench import TunebenchError
from tunebench.data.download import DatasetNotFound
from tunebench.data.images import IMAGE_SUFFIXES, ImageSplits, Sample
from tunebench.data.registry import DATASETS
from tunebench.data.splits import SPLIT_SEED, ratio_fractions, readable, stratified_split, train_val_test

DEFAULT_SPLIT = "80/10/10"
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}  # any letter case
REMEDY = "put each class's images in a folder named after the class, or point --data-dir at the folder holding them"
# formats Pillow lists but only identifies (stubs) or decodes with outside programs: not taken for images
NOT_DECODED = {"BUFR", "GRIB", "HDF5", "WMF", "EPS", "MPEG"}


def layouts(data_dir: Path) -> str:
    """The accepted layouts, for error messages."""
    return f"{data_dir}/<class>/<image> or {data_dir}/{{train,val,test}}/<class>/<image>"


@cache
def image_suffixes() -> frozenset[str]:
    """The file extensions Pillow decodes (lower case, with the dot)."""
    from PIL import Image

    Image.init()
    decoded = {ext for ext, kind in Image.registered_extensions().items() if kind in Image.OPEN
               and kind not in NOT_DECODED}
    return frozenset(decoded | set(IMAGE_SUFFIXES))


def hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def is_image_name(name: str) -> bool:
    """A visible file name with an extension Pillow decodes (the common ones without asking Pillow, whose full
    list means importing all its plugins)."""
    dot = name.rfind(".")
    if dot <= 0 or hidden(name):  # no extension (a leading dot is none: os.path.splitext agrees), or hidden
        return False
    suffix = name[dot:].lower()
    return suffix in IMAGE_SUFFIXES or suffix in image_suffixes()


def subfolders(folder: Path) -> list[Path]:
    """The visible folders in `folder` (links to folders too), sorted by name."""
    try:
        with os.scandir(folder) as entries:
            found = [Path(entry.path) for entry in entries if not hidden(entry.name) and entry.is_dir()]
    except OSError as exc:
        raise TunebenchError(f"cannot read {folder}: {exc.strerror or exc}") from None
    return sorted(found, key=lambda path: path.name)


def _walk_images(folder: Path) -> Iterator[str]:
    for top, folders, files in os.walk(folder, followlinks=True):
        folders[:] = sorted(name for name in folders if not hidden(name))
        yield from (os.path.join(top, name) for name in files if is_image_name(name))


def images_below(folder: Path) -> list[str]:
    """Every image file at any depth below `folder` (as ImageFolder walks it, links followed), hidden folders
    and files left out; sorted."""
    return sorted(_walk_images(folder))


def class_name(folder: Path) -> str:
    """A class folder's class: its name in Unicode NFC."""
    return unicodedata.normalize("NFC", folder.name)


@dataclass(frozen=True)
class Tree:
    """A class-folder tree: flat (parts {"all": root}) or pre-split (parts "train", "val", "test" -> the folder
    as given), and the top-level folders of a pre-split tree it ignores, with why (ImageSplits.skipped entries)."""

    root: Path
    parts: dict[str, Path]
    ignored: tuple[tuple[str, str], ...] = field(default=())

    @property
    def presplit(self) -> bool:
        return "all" not in self.parts

    @property
    def base(self) -> Path:
        """The folder whose class folders are the classes: train/ of a pre-split tree, else the root."""
        return self.parts["train"] if self.presplit else self.root


def find_tree(data_dir: Path) -> Tree:
    """data_dir as a pre-split tree when a folder named train, val, valid, validation or test (any case) holds
    class folders; else as flat class folders. A split folder without class folders (a test/ of unlabelled
    images) is ignored, as are folders that name no split."""
    folders = subfolders(data_dir)
    named: dict[str, list[Path]] = {}
    loose: list[Path] = []
    for folder in folders:
        part = next((part for part, names in SPLIT_FOLDERS.items() if folder.name.lower() in names), None)
        if part:
            (named.setdefault(part, []) if subfolders(folder) else loose).append(folder)
    if not named:
        return Tree(data_dir, {"all": data_dir})
    for part, found in named.items():
        if len(found) > 1:
            raise TunebenchError(f"{data_dir} has {' and '.join(f.name + '/' for f in found)}: keep one {part} folder")
    if "train" not in named:
        given = " and ".join(named[part][0].name + "/" for part in SPLIT_FOLDERS if part in named)
        raise DatasetNotFound(f"{data_dir} has {given} but no train/: expected {layouts(data_dir)}", REMEDY)
    parts = {part: named[part][0] for part in SPLIT_FOLDERS if part in named}
    ignored = [(str(f), "holds no class folders: ignored" if f in loose else
                "names no split (train, val|valid|validation, test): ignored")
               for f in folders if f not in parts.values()]
    return Tree(data_dir, parts, tuple(ignored))


def class_images(folder: Path, name_of: Callable[[Path], str]) -> dict[str, list[str]]:
    """{class: its image files} of the class folders in `folder` that hold images; folders that `name_of` maps to
    one class are merged."""
    found: dict[str, list[str]] = {}
    for sub in subfolders(folder):
        files = images_below(sub)
        if files:
            found.setdefault(name_of(sub), []).extend(files)
    return found


def folder_classes(data_dir: Path) -> list[str]:
    """The classes the folder dataset finds in data_dir, without opening an image (for checks before a search
    starts), with the builder's errors for a tree it refuses."""
    tree = find_tree(data_dir)
    names = {part: {class_name(sub) for sub in subfolders(folder) if next(_walk_images(sub), None)}
             for part, folder in tree.parts.items()}
    classes = _classes(tree, names)
    if len(classes) < 2:
        raise _one_class(tree, classes[0])
    return classes


def _classes(tree: Tree, found: dict[str, Iterable[str]]) -> list[str]:
    """The classes of a tree whose parts hold the classes `found` (part -> class names): its train/ part's (or
    the flat tree's), sorted; errors for none, for one, and for a class of val/ or test/ that train/ lacks."""
    base = set(found["train" if tree.presplit else "all"])
    if not base:
        raise _no_images(tree.base, tree.root)
    for part in ("val", "test"):
        for name in found.get(part, ()):
            if name not in base:
                raise TunebenchError(f"class '{name}' has images in {tree.parts[part]} but no folder in {tree.base}: "
                                     f"every class needs training images")
    return sorted(base)


def _one_class(tree: Tree, name: str) -> TunebenchError:
    inner = next(sub for sub in subfolders(tree.base) if class_name(sub) == name)
    hint = f"; is the dataset {inner}? (--data-dir {inner})" if len(subfolders(inner)) >= 2 else ""
    return TunebenchError(f"only one class in {tree.base}: '{name}' (a classifier needs two or more class folders: "
                          f"expected {layouts(tree.root)}){hint}")


def _no_images(folder: Path, data_dir: Path) -> DatasetNotFound:
    loose = [name for name in os.listdir(folder) if is_image_name(name)]
    if loose:
        return DatasetNotFound(f"no class folders in {folder}: its {len(loose)} images lie directly in it; expected "
                               f"{layouts(data_dir)}", REMEDY)
    return DatasetNotFound(f"no images in {folder}: expected {layouts(data_dir)}", REMEDY)


def read_tree(tree: Tree, split: str, progress: Callable[[str], None] | None = None,
              name_of: Callable[[Path], str] = class_name, classes: list[str] | None = None,
              limit_per_class: int | None = None, dataset: str = "folder") -> ImageSplits:
    """The tree's splits: classes from its class folders (`name_of` maps a folder to its class), or exactly
    `classes` when given; the flat part split by `split` ("TRAIN/VAL/TEST"), a pre-split tree's parts as given with
    a missing val or test part carved out of train/; unreadable images left out (splits.readable: with
    `limit_per_class`, only the images kept are checked; `dataset` names them in the check's lines)."""
    ratio_fractions(split)  # a bad split is an error before an image is read
    found = {part: class_images(folder, name_of) for part, folder in tree.parts.items()}
    skipped = list(tree.ignored)
    for part in ("val", "test"):  # a given part without images is carved out of train/ as a missing one is
        if part in found and not found[part]:
            skipped.append((str(tree.parts[part]), "holds no images: ignored"))
            del found[part]
    parts = {part: folder for part, folder in tree.parts.items() if part in found}
    present = _classes(tree, found)
    if classes is None:
        classes = present
        if len(classes) < 2:
            raise _one_class(tree, classes[0])
    for name in classes:
        if name not in present:
            raise TunebenchError(f"no '{name}' images in {tree.base}: expected a class folder for each of "
                                 f"{', '.join(classes)}")
    index = {name: i for i, name in enumerate(classes)}
    samples = {part: [(path, index[name]) for name, files in by_class.items() for path in files]
               for part, by_class in found.items()}

    listed = [s for part in samples.values() for s in part]

    def split_parts(kept_samples: list[Sample]) -> ImageSplits:
        kept = set(kept_samples) if len(kept_samples) < len(listed) else None  # None: every image is kept
        return _split_parts(tree, parts, {part: sorted(s for s in part_samples if kept is None or s in kept)
                                          for part, part_samples in samples.items()}, split, classes, skipped)
    return readable(listed, split_parts, limit_per_class, progress, dataset)


def _split_parts(tree: Tree, parts: dict[str, Path], kept: dict[str, list[Sample]], split: str, classes: list[str],
                 skipped: list[tuple[str, str]]) -> ImageSplits:
    """read_tree's splits of the samples `kept` in each part of the tree."""
    test_fraction, val_fraction = ratio_fractions(split)
    skipped = list(skipped)
    if not tree.presplit or set(parts) == {"train"}:
        train, val, test = train_val_test(kept["train" if tree.presplit else "all"], test=test_fraction,
                                          val=val_fraction)
        where = f"{parts['train'].name}/ split " if tree.presplit else ""
        return ImageSplits(classes, train, val, test, skipped, f"{where}stratified {split} (seed {SPLIT_SEED})")
    train, val, test = kept["train"], kept.get("val"), kept.get("test")
    carved = []
    if test is None:
        train, test = stratified_split(train, test_fraction, SPLIT_SEED)
        carved.append(f"test: {test_fraction * 100:g}% of {parts['train'].name}/")
    if val is None:
        train, val = stratified_split(train, val_fraction, SPLIT_SEED)
        carved.append(f"val: {val_fraction * 100:g}% of {parts['train'].name}/")
    given = [parts[part].name + "/" for part in SPLIT_FOLDERS if part in parts]
    source = f"{', '.join(given[:-1])} and {given[-1]} as given"
    if carved:
        source += f"; {', '.join(carved)} (stratified, seed {SPLIT_SEED})"
    return ImageSplits(classes, train, val, test, skipped, source)


@DATASETS.register("folder", ratios=True, default_split=DEFAULT_SPLIT, downloads=False)  # the user's own images
def folder(data_dir: Path, *, split: str, limit_per_class: int | None = None,
           progress: Callable[[str], None] | None = None) -> ImageSplits:
    return read_tree(find_tree(data_dir), split, progress, limit_per_class=limit_per_class)

"""Kaggle "Best Artworks of All Time" in its archive layout: `artists.csv` + `images/images/<Painter_Name>/*.jpg`.

The 50 painters of `artists.csv` are the classes (CSV names, sorted). Folder names write the painter with
underscores, and the real archive mangles some: "Albrecht Dürer" is unpacked as `Albrecht_Du╠êrer` (UTF-8 of a
decomposed "ü" read as cp437). Folders are matched to painters by a normalised name, so that and the NFC/NFD
spellings all land on the right painter. The split is stratified 80/10/10 (test first, then val from the rest).
The `resized/` copy of the archive is ignored. The dataset cannot be downloaded without a Kaggle account.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path
from typing import Callable

from tunebench import TunebenchError
from tunebench.data.download import DatasetNotFound
from tunebench.data.images import ImageSplits, Sample, files_in, is_image_file
from tunebench.data.registry import DATASETS
from tunebench.data.splits import SPLIT_SEED, readable, train_val_test

CSV_NAME = "artists.csv"
KAGGLE = "kaggle datasets download ikarus777/best-artworks-of-all-time"


def normalise_name(name: str) -> str:
    """A painter's name reduced for matching: mojibake repaired, accents dropped, casefolded, spaces."""
    try:
        name = name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace("_", " ").split())


def find_root(data_dir: Path) -> Path | None:
    """The folder holding artists.csv and images/: data_dir itself or data_dir/best-artworks."""
    for candidate in (data_dir, data_dir / "best-artworks"):
        if (candidate / CSV_NAME).is_file() and (candidate / "images").is_dir():
            return candidate
    return None


def _image_dir(root: Path) -> Path:
    """images/images as Kaggle unpacks it, or a single images/ level."""
    doubled = root / "images" / "images"
    return doubled if doubled.is_dir() else root / "images"


def read_painters(csv_path: Path) -> list[str]:
    """The painters named in artists.csv (NFC), sorted and without duplicates."""
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TunebenchError(f"cannot read {csv_path} ({type(exc).__name__}: {exc})") from None
    if not rows or "name" not in rows[0]:
        raise TunebenchError(f"{csv_path} has no 'name' column (expected the Kaggle artists.csv)")
    names = {unicodedata.normalize("NFC", (row["name"] or "").strip()) for row in rows}
    names.discard("")
    if not names:
        raise TunebenchError(f"{csv_path} names no painters")
    return sorted(names)


@DATASETS.register("artworks", downloads=False)  # Kaggle: needs an account
def artworks(data_dir: Path, *, limit_per_class: int | None = None,
             progress: Callable[[str], None] | None = None) -> ImageSplits:
    root = find_root(data_dir)
    if root is None:
        raise DatasetNotFound(f"Best Artworks of All Time not found in {data_dir}: expected {data_dir}/{CSV_NAME} and "
                              f"{data_dir}/images/images/<Painter_Name>/<Painter_Name>_N.jpg",
                              f"run `{KAGGLE}` and unzip it into {data_dir}")
    classes = read_painters(root / CSV_NAME)
    by_key = {normalise_name(name): name for name in classes}
    images = _image_dir(root)

    skipped: list[tuple[str, str]] = []
    folders: dict[str, list[Path]] = {name: [] for name in classes}
    for folder in sorted(d for d in images.iterdir() if d.is_dir() and not d.name.startswith(".")):
        painter = by_key.get(normalise_name(folder.name))
        if painter is None:
            skipped.append((str(folder), f"folder matches no painter in {CSV_NAME}"))
        else:
            folders[painter].append(folder)
    for painter, found in folders.items():
        if not found:
            raise TunebenchError(f"painter '{painter}' of {CSV_NAME} has no image folder: expected "
                                 f"{images / painter.replace(' ', '_')}")

    index = {name: i for i, name in enumerate(classes)}
    samples: list[Sample] = []
    for painter, found in folders.items():
        files = sorted(path for folder in found for path in files_in(folder) if is_image_file(path))
        if not files:
            raise TunebenchError(f"image folder {found[0]} of painter '{painter}' has no images")
        samples.extend((path, index[painter]) for path in files)


    def split(readable_samples: list[Sample]) -> ImageSplits:
        train, val, test = train_val_test(readable_samples, test=0.1, val=0.1)
        return ImageSplits(classes, train, val, test, list(skipped), f"stratified 80/10/10 (seed {SPLIT_SEED})")
    return readable(samples, split, limit_per_class, progress, "artworks")

"""The `folder` dataset: a user's own images in class folders, flat (split by tunebench) or pre-split (train/,
val|valid|validation/, test/ as given), from real image files written here or copied from ../shared/data."""

from __future__ import annotations

import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from tests.fixture_data import (SHARED_DATA, SHARED_DOGS_VS_CATS, all_samples, build_keras_cats_and_dogs, picture,
                                truncate)
from tunebench import TunebenchError
from tunebench.cli import main
from tunebench.data import DatasetNotFound, build_dataset

# names of any characters: a space, an accent, CJK, a capital (sorts before lower case, as in ImageFolder)
CLASSES = {"golden retriever": (200, 150, 60), "café crème": (120, 80, 40), "猫": (60, 110, 200), "Zebra": (30, 30, 30)}


def write_images(folder: Path, colour: tuple[int, int, int], count: int, seed: int, suffix: str = ".jpg") -> list[Path]:
    """`count` images of one colour (with noise) in `folder`, named img_NN<suffix>."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img_{i:02d}{suffix}"
        picture(colour, seed * 1000 + i, (40 + i % 7, 36 + i % 5)).save(path)
        paths.append(path)
    return paths


def build_flat(root: Path, per_class: int = 10, classes: dict = CLASSES) -> Path:
    """root/<class>/img_NN.jpg, every third image a PNG."""
    for c, (name, colour) in enumerate(classes.items()):
        for path in write_images(root / name, colour, per_class, c):
            if int(path.stem[-2:]) % 3 == 2:
                Image.open(path).save(path.with_suffix(".png"))
                path.unlink()
    return root


def build_presplit(root: Path, parts: dict[str, int], classes: dict = CLASSES) -> Path:
    """root/<part>/<class>/img_NN.jpg with parts[part] images per class."""
    for p, (part, count) in enumerate(parts.items()):
        for c, (name, colour) in enumerate(classes.items()):
            write_images(root / part / name, colour, count, 100 * p + c)
    return root


def files_of(folder: Path) -> set[str]:
    return {str(path) for path in folder.rglob("*") if path.is_file()}


def per_class(samples) -> Counter:
    return Counter(label for _, label in samples)


# --- flat class folders ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> Path:
    return build_flat(tmp_path_factory.mktemp("flat"))


def test_classes_and_samples_are_torchvisions_imagefolder(flat):
    from torchvision.datasets import ImageFolder

    splits = build_dataset("folder", flat)
    reference = ImageFolder(str(flat))
    assert splits.classes == reference.classes == ["Zebra", "café crème", "golden retriever", "猫"]
    assert sorted(all_samples(splits)) == sorted(reference.samples)  # same files, same labels
    assert splits.name == "folder" and splits.skipped == []
    assert {Path(path).suffix for path, _ in all_samples(splits)} == {".jpg", ".png"}


@pytest.mark.parametrize("split, test, val", [(None, 0.1, 0.1), ("80/10/10", 0.1, 0.1), ("70/15/15", 0.15, 0.15),
                                              ("60/20/20", 0.2, 0.2), ("64/16/20", 0.2, 0.16)])
def test_flat_folders_are_split_stratified_by_the_split_percentages(tmp_path, split, test, val):
    root = build_flat(tmp_path, per_class=20)
    splits = build_dataset("folder", root, split=split)
    assert len(set(p for p, _ in all_samples(splits))) == len(all_samples(splits)) == 4 * 20
    for label in range(4):
        n_test = per_class(splits.test)[label]
        assert n_test == round(20 * test)
        assert per_class(splits.val)[label] == round((20 - n_test) * val / (1 - test))
    assert splits.split_source == f"stratified {split or '80/10/10'} (seed 0)"


def test_the_split_is_deterministic(flat):
    first, again = build_dataset("folder", flat), build_dataset("folder", flat)
    assert (first.train, first.val, first.test) == (again.train, again.val, again.test)


def test_limit_per_class(flat):
    small = build_dataset("folder", flat, limit_per_class=3)
    assert per_class(small.train) == {label: 3 for label in range(4)}
    assert all(max(per_class(part).values()) <= 3 for part in (small.val, small.test))


def test_hidden_empty_and_non_image_entries_are_ignored_nested_images_count(tmp_path):
    root = build_flat(tmp_path / "data", per_class=4, classes={"a": (200, 0, 0), "b": (0, 0, 200)})
    write_images(root / ".ipynb_checkpoints", (9, 9, 9), 2, 7)            # a hidden folder: no class
    write_images(root / "a" / ".thumbs", (9, 9, 9), 2, 8)                 # hidden inside a class
    write_images(root / "__MACOSX" / "a", (9, 9, 9), 2, 9)                # macOS zip debris
    (root / "a" / "._img_00.jpg").write_bytes(b"\0\5\26\7 AppleDouble")   # macOS resource fork
    (root / "b" / "notes.txt").write_text("not an image\n")
    (root / "b" / "labels.csv").write_text("file,label\n")
    (root / "empty").mkdir()                                             # no images: no class
    nested = write_images(root / "b" / "more" / "deeper", (0, 0, 200), 2, 10)  # found at any depth, as ImageFolder does
    splits = build_dataset("folder", root)
    assert splits.classes == ["a", "b"] and splits.skipped == []
    paths = {p for p, _ in all_samples(splits)}
    assert len(paths) == 10 and {str(p) for p in nested} <= paths
    assert not any("/." in p or "__MACOSX" in p for p in paths)


SUFFIXES = {".jpg": "JPEG", ".JPG": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP", ".gif": "GIF",
            ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".ppm": "PPM"}


def test_every_image_format_pillow_reads_is_taken(tmp_path):
    for c, (name, colour) in enumerate({"red": (200, 20, 20), "blue": (20, 20, 200)}.items()):
        (tmp_path / name).mkdir()
        for i, (suffix, kind) in enumerate(SUFFIXES.items()):
            picture(colour, 10 * c + i).save(tmp_path / name / f"img_{i}{suffix}", format=kind)
    splits = build_dataset("folder", tmp_path)
    assert splits.skipped == [] and len(all_samples(splits)) == 2 * len(SUFFIXES)
    for path, label in all_samples(splits):
        assert Path(path).parent.name == splits.classes[label] and splits.open(path).mode == "RGB"


def test_unreadable_images_are_skipped_and_reported_as_the_shipped_datasets_do(tmp_path):
    root = build_flat(tmp_path / "data", per_class=6, classes={"a": (200, 0, 0), "b": (0, 0, 200)})
    truncated = root / "a" / "img_00.jpg"
    truncate(truncated)
    html = root / "b" / "img_01.jpg"
    html.write_text("<html>403 Forbidden</html>")
    splits = build_dataset("folder", root)
    skipped = dict(splits.skipped)
    assert set(skipped) == {str(truncated), str(html)}
    assert "truncated" in skipped[str(truncated)].lower() and "UnidentifiedImageError" in skipped[str(html)]
    assert not {str(truncated), str(html)} & {p for p, _ in all_samples(splits)}
    assert len(all_samples(splits)) == 10


def test_a_class_whose_every_image_is_unreadable_is_an_error(tmp_path):
    root = build_flat(tmp_path / "data", per_class=3, classes={"a": (200, 0, 0), "b": (0, 0, 200), "c": (0, 200, 0)})
    for path in (root / "c").iterdir():
        path.write_bytes(b"")
    with pytest.raises(TunebenchError, match="class 'c' has no readable images: all 3 of its images were skipped"):
        build_dataset("folder", root)


# --- pre-split trees ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("parts, source, sizes", [
    ({"train": 8, "val": 3, "test": 2}, "train/, val/ and test/ as given", (8, 3, 2)),
    ({"train": 8, "valid": 3, "test": 2}, "train/, valid/ and test/ as given", (8, 3, 2)),
    ({"Train": 8, "Validation": 3, "TEST": 2}, "Train/, Validation/ and TEST/ as given", (8, 3, 2)),
    ({"train": 10, "validation": 3}, "train/ and validation/ as given; test: 10% of train/ (stratified, seed 0)",
     (9, 3, 1)),
    ({"train": 10, "val": 3}, "train/ and val/ as given; test: 10% of train/ (stratified, seed 0)", (9, 3, 1)),
    ({"train": 10, "test": 2}, "train/ and test/ as given; val: 10% of train/ (stratified, seed 0)", (9, 1, 2)),
    ({"train": 10}, "train/ split stratified 80/10/10 (seed 0)", (8, 1, 1)),
], ids=["train-val-test", "valid", "letter-case", "train-validation", "train-val", "train-test", "train-only"])
def test_presplit_trees_are_used_as_given(tmp_path, parts, source, sizes):
    """Given parts keep exactly their folder's images; a missing test or val part is carved out of train/."""
    root = build_presplit(tmp_path / "data", parts)
    splits = build_dataset("folder", root)
    assert splits.classes == sorted(CLASSES) and splits.split_source == source and splits.skipped == []
    assert {p for p, _ in all_samples(splits)} == files_of(root)
    for part, size in zip(("train", "val", "test"), sizes):
        assert per_class(getattr(splits, part)) == {label: size for label in range(4)}, part
    folders = {folder.lower(): folder for folder in parts}
    for part, names in (("val", ("val", "valid", "validation")), ("test", ("test",))):
        given = next((folders[name] for name in names if name in folders), None)
        if given and len(parts) > 1:
            assert {p for p, _ in getattr(splits, part)} == files_of(root / given)


def test_the_carved_part_follows_the_split_percentages(tmp_path):
    root = build_presplit(tmp_path / "data", {"train": 20, "validation": 4})
    splits = build_dataset("folder", root, split="70/15/15")
    assert splits.split_source == "train/ and validation/ as given; test: 15% of train/ (stratified, seed 0)"
    assert per_class(splits.test) == {label: 3 for label in range(4)}
    assert per_class(splits.train) == {label: 17 for label in range(4)}
    assert {p for p, _ in splits.val} == files_of(root / "validation")
    again = build_dataset("folder", root, split="70/15/15")
    assert (again.train, again.test) == (splits.train, splits.test)


def test_class_folders_match_across_parts_in_any_unicode_form(tmp_path):
    classes = {"Café": (120, 80, 40), "Zoë": (40, 80, 120)}
    root = build_presplit(tmp_path / "data", {"train": 6}, classes)
    for name, colour in classes.items():  # validation/ unpacked on a Mac: the names in NFD
        write_images(tmp_path / "data" / "validation" / unicodedata.normalize("NFD", name), colour, 2, 50)
    splits = build_dataset("folder", root)
    assert splits.classes == ["Café", "Zoë"] and per_class(splits.val) == {0: 2, 1: 2}


def test_folders_beside_the_splits_are_ignored_and_reported(tmp_path):
    """A folder that names no split, a test/ of unlabelled images (Kaggle's), a val/ without images: left out and
    reported; the missing parts are carved out of train/."""
    root = build_presplit(tmp_path / "data", {"train": 10})
    write_images(root / "unlabelled", (1, 2, 3), 3, 60)
    write_images(root / "test", (1, 2, 3), 3, 61)
    (root / "val" / "cats").mkdir(parents=True)
    splits = build_dataset("folder", root)
    assert splits.skipped == [(str(root / "test"), "holds no class folders: ignored"),
                              (str(root / "unlabelled"), "names no split (train, val|valid|validation, test): ignored"),
                              (str(root / "val"), "holds no images: ignored")]
    assert {p for p, _ in all_samples(splits)} == files_of(root / "train")
    assert splits.split_source == "train/ split stratified 80/10/10 (seed 0)"


# --- real images of ../shared/data, copied into the layouts --------------------------------------------------------

SHARED_CALTECH = SHARED_DATA / "caltech101" / "101_ObjectCategories"


def test_real_caltech_images_in_flat_folders_with_renamed_classes(tmp_path):
    if not SHARED_CALTECH.is_dir():
        pytest.skip("../shared/data/caltech101 not present")
    renamed = {"Faces_easy": "visages faciles", "Leopards": "léopards", "Motorbikes": "オートバイ"}
    for source, name in renamed.items():
        (tmp_path / name).mkdir()
        for image in sorted((SHARED_CALTECH / source).glob("*.jpg"))[:12]:
            shutil.copy(image, tmp_path / name / image.name)
    splits = build_dataset("folder", tmp_path, split="50/25/25")
    assert splits.classes == sorted(renamed.values()) and splits.skipped == []
    assert per_class(splits.test) == {label: 3 for label in range(3)}
    path, label = splits.train[0]
    assert splits.open(path).mode == "RGB" and Path(path).parent.name == splits.classes[label]


def test_real_dogs_vs_cats_images_in_keras_layout(tmp_path):
    if not (SHARED_DOGS_VS_CATS / "train").is_dir():
        pytest.skip("../shared/data/dogs-vs-cats not present")
    splits = build_dataset("folder", build_keras_cats_and_dogs(tmp_path, per_label=15))
    assert splits.classes == ["cats", "dogs"]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (18, 10, 2)
    assert splits.split_source == "train/ and validation/ as given; test: 10% of train/ (stratified, seed 0)"


# --- bad layouts: one line each -----------------------------------------------------------------------------------

def _tree(tmp_path: Path, case: str) -> Path:
    root = tmp_path / "data"
    two = {"a": (200, 0, 0), "b": (0, 0, 200)}
    if case == "empty":
        (root / "nothing here").mkdir(parents=True)
        (root / "README.txt").write_text("my images\n")
    elif case == "loose-images":
        write_images(root, (9, 9, 9), 3, 1)
    elif case == "one-class":
        write_images(root / "only", (9, 9, 9), 3, 1)
    elif case == "wrapped":
        build_presplit(root / "flowers", {"train": 2, "val": 1}, two)
    elif case == "no-train":
        build_presplit(root, {"val": 2, "test": 2}, two)
    elif case == "two-val-folders":
        build_presplit(root, {"train": 2, "val": 1, "validation": 1}, two)
    elif case == "class-only-in-val":
        build_presplit(root, {"train": 3, "val": 1}, two)
        write_images(root / "val" / "c", (0, 200, 0), 1, 3)
    return root


BAD_LAYOUTS = {
    "empty": "no images in {d}: expected {d}/<class>/<image> or {d}/{{train,val,test}}/<class>/<image> (put each "
             "class's images in a folder named after the class",
    "loose-images": "no class folders in {d}: its 3 images lie directly in it; expected {d}/<class>/<image> or",
    "one-class": "only one class in {d}: 'only' (a classifier needs two or more class folders: expected",
    "wrapped": "only one class in {d}: 'flowers' (a classifier needs two or more class folders: expected {d}/<class>/"
               "<image> or {d}/{{train,val,test}}/<class>/<image>); is the dataset {d}/flowers? (--data-dir {d}/flowers)",
    "no-train": "{d} has val/ and test/ but no train/: expected {d}/<class>/<image> or",
    "two-val-folders": "{d} has val/ and validation/: keep one val folder",
    "class-only-in-val": "class 'c' has images in {d}/val but no folder in {d}/train: every class needs training images",
}


@pytest.mark.parametrize("case", list(BAD_LAYOUTS))
def test_a_bad_layout_is_one_line_naming_the_layouts(tmp_path, case):
    root = _tree(tmp_path, case)
    with pytest.raises(TunebenchError) as info:
        build_dataset("folder", root)
    message = str(info.value)
    assert BAD_LAYOUTS[case].format(d=root) in message and "\n" not in message


def test_download_of_the_folder_dataset_says_it_cannot(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(DatasetNotFound, match="it cannot be downloaded automatically; put each class's images"):
        build_dataset("folder", tmp_path / "data", download=True)


@pytest.mark.parametrize("case", ["empty", "loose-images", "one-class", "no-train", "two-val-folders",
                                  "class-only-in-val"])
def test_bad_layouts_on_the_command_line(capsys, tmp_path, case):
    root = _tree(tmp_path, case)
    storage, uri = tmp_path / "ray", f"sqlite:///{tmp_path / 'mlruns.db'}"
    code = main(["search", "cnn-cifar10", "--dataset", "folder", "--data-dir", str(root), "--smoke",
                 "--storage-path", str(storage), "--tracking-uri", uri])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines() == [f"tunebench: error: {err.strip().removeprefix('tunebench: error: ')}"]
    assert BAD_LAYOUTS[case].format(d=root) in err
    assert not storage.exists() and not (tmp_path / "mlruns.db").exists()  # refused before the stores are opened


def test_a_bad_split_for_the_folder_dataset_on_the_command_line(capsys, tmp_path):
    root = build_flat(tmp_path / "data", per_class=3)
    code = main(["search", "alexnet-caltech", "--dataset", "folder", "--data-dir", str(root), "--set",
                 "split=70/30/0", "--storage-path", str(tmp_path / "ray")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "tunebench: error: --set split=70/30/0: TEST is 0 (expected TRAIN/VAL/TEST percentages" in err
    assert not (tmp_path / "ray").exists()


# --- search-space files naming the dataset -----------------------------------------------------------------------

SPACE = """from dataclasses import replace
from search_spaces import BENCHMARKS
BENCHMARK = replace(BENCHMARKS["cnn-cifar10"], name="my-images", dataset={dataset!r}, reference=(),
                    defaults={{**BENCHMARKS["cnn-cifar10"].defaults, "split": {split!r}}})
"""


def test_a_search_space_file_may_name_the_folder_dataset(tmp_path, capsys):
    space = tmp_path / "my_images.py"
    space.write_text(SPACE.format(dataset="folder", split="70/15/15"))
    assert main(["show", str(space)]) == 0
    out = capsys.readouterr().out
    assert "my-images" in out and "dataset folder" in out and "split = 70/15/15" in out


@pytest.mark.parametrize("dataset, split, message", [
    ("imagefolder", None, "dataset='imagefolder': unknown dataset (known: artworks, caltech101, cifar10, cifar5, "
                          "dogs-vs-cats, folder)"),
    ("folder", "75/25/0", "defaults split=75/25/0: TEST is 0 (expected TRAIN/VAL/TEST percentages"),
    ("caltech101", "80/10/10", "defaults split=80/10/10: it has a fixed split (dataset caltech101)"),
], ids=["unknown-dataset", "bad-ratio", "fixed-split"])
def test_a_search_space_files_dataset_is_checked(tmp_path, capsys, dataset, split, message):
    space = tmp_path / "my_images.py"
    space.write_text(SPACE.format(dataset=dataset, split=split))
    code = main(["show", str(space)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"{space}: {message}" in err, err

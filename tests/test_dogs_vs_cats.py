"""Dogs vs Cats in Kaggle's flat layout (labels from file names, corrupt files skipped, the two report splits) and
in Keras' class-folder layouts (cats/ and dogs/, flat or pre-split as train/ and validation/)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tunebench import TunebenchError
from tunebench.data import build_dataset
from tests.fixture_data import (DOGS_VS_CATS_COLOURS, DOGS_VS_CATS_ODD, SHARED_DOGS_VS_CATS, all_samples,
                                build_dogs_vs_cats, picture, truncate)

PER_CLASS = 20


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return build_dogs_vs_cats(tmp_path_factory.mktemp("dogs"), per_class=PER_CLASS)


@pytest.fixture(scope="module")
def splits(root):
    return build_dataset("dogs-vs-cats", root)


def test_labels_come_from_file_names_cat_first(splits):
    assert splits.classes == ["cat", "dog"]
    for path, label in all_samples(splits):
        assert Path(path).name.startswith(splits.classes[label] + ".")
    assert Counter(y for _, y in all_samples(splits)) == {0: PER_CLASS, 1: PER_CLASS}


def test_corrupt_file_is_skipped_and_reported_unlabelled_ignored(root, splits):
    corrupt = str(root / DOGS_VS_CATS_ODD["corrupt"])
    assert [p for p, _ in splits.skipped] == [corrupt] and "truncated" in splits.skipped[0][1]
    paths = {p for p, _ in all_samples(splits)}
    assert corrupt not in paths and not any("test1" in p for p in paths)


@pytest.mark.parametrize("odd", ["grayscale", "cmyk"])
def test_odd_images_load_as_rgb(root, splits, odd):
    path = str(root / DOGS_VS_CATS_ODD[odd])
    assert path in {p for p, _ in all_samples(splits)}
    assert splits.open(path).mode == "RGB"


@pytest.mark.parametrize("split, test, val", [(None, 0.1, 0.1), ("80/10/10", 0.1, 0.1), ("64/16/20", 0.2, 0.16)])
def test_splits_are_stratified_test_first_then_val(root, split, test, val):
    splits = build_dataset("dogs-vs-cats", root, split=split)
    paths = [p for p, _ in all_samples(splits)]
    assert len(paths) == len(set(paths)) == 2 * PER_CLASS
    for label in (0, 1):
        n_test = sum(1 for _, y in splits.test if y == label)
        n_val = sum(1 for _, y in splits.val if y == label)
        assert n_test == round(PER_CLASS * test)
        assert n_val == round((PER_CLASS - n_test) * val / (1 - test))
    assert (split or "80/10/10") in splits.split_source


def test_split_is_deterministic(root, splits):
    again = build_dataset("dogs-vs-cats", root)
    assert (again.train, again.val, again.test) == (splits.train, splits.val, splits.test)


def test_limit_per_class(root):
    limited = build_dataset("dogs-vs-cats", root, limit_per_class=3)
    assert Counter(y for _, y in limited.train) == {0: 3, 1: 3}
    assert all(max(Counter(y for _, y in part).values()) <= 3 for part in (limited.val, limited.test))


@pytest.mark.parametrize("layout", ["train", "dogs-vs-cats/train", ""])
def test_train_folder_is_found(tmp_path, layout):
    source = build_dogs_vs_cats(tmp_path / "src", per_class=3) / "train"
    data_dir = tmp_path / "data"
    (data_dir / layout).parent.mkdir(parents=True, exist_ok=True)
    source.rename(data_dir / layout)  # "" : the cat.N.jpg files directly in data_dir
    assert len(all_samples(build_dataset("dogs-vs-cats", data_dir))) == 6


@pytest.mark.parametrize("download", [False, True])
def test_missing_dataset_names_the_kaggle_competition_and_every_layout(tmp_path, download):
    with pytest.raises(TunebenchError, match="kaggle competitions download -c dogs-vs-cats") as info:
        build_dataset("dogs-vs-cats", tmp_path, download=download)
    assert "train.zip" in str(info.value) and str(tmp_path) in str(info.value) and "\n" not in str(info.value)
    d = tmp_path
    assert (f"Dogs vs Cats not found in {d}: expected {d}/train/cat.N.jpg and dog.N.jpg (Kaggle), {d}/{{cats,dogs}}/"
            f"<image>, or {d}/{{train,validation[,test]}}/{{cats,dogs}}/<image> (Keras; cat/ and dog/ too)") in str(info.value)


def test_only_cats_is_an_error(tmp_path):
    root = build_dogs_vs_cats(tmp_path, per_class=3)
    for dog in (root / "train").glob("dog.*.jpg"):
        dog.unlink()
    with pytest.raises(TunebenchError, match="no dog.N.jpg images"):
        build_dataset("dogs-vs-cats", root)


@pytest.fixture(scope="module")
def real_root() -> Path:
    if not (SHARED_DOGS_VS_CATS / "train").is_dir():
        pytest.skip("../shared/data/dogs-vs-cats not present")
    return SHARED_DOGS_VS_CATS


@pytest.mark.parametrize("split, sizes", [("80/10/10", (1200, 150, 150)), ("64/16/20", (960, 240, 300))])
def test_real_sample(real_root, split, sizes):
    splits = build_dataset("dogs-vs-cats", real_root, split=split)
    assert len(all_samples(splits)) + len(splits.skipped) == 1500
    assert (len(splits.train), len(splits.val), len(splits.test)) == sizes  # the sample has no corrupt files
    assert Counter(y for _, y in splits.test) == {0: sizes[2] // 2, 1: sizes[2] // 2}


# --- Keras' class folders (flow_from_directory) -------------------------------------------------------------------

def build_keras(root: Path, parts: dict[str, int], names: tuple[str, str] = ("cats", "dogs")) -> Path:
    """root/<part>/<cats|dogs>/<name>.N.jpg with parts[part] images per class ("" : class folders in root)."""
    for p, (part, count) in enumerate(parts.items()):
        for c, (label, colour) in enumerate(DOGS_VS_CATS_COLOURS.items()):
            folder = root / part / names[c]
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                picture(colour, 1000 * p + 100 * c + i).save(folder / f"{label}.{1000 * p + i}.jpg", quality=90)
    return root


@pytest.mark.parametrize("layout, data_dir, names, sizes, source", [
    ({"train": 10, "validation": 4}, "", ("cats", "dogs"), (9, 4, 1),
     "train/ and validation/ as given; test: 10% of train/ (stratified, seed 0)"),
    ({"train": 10, "validation": 4, "test": 3}, "", ("cats", "dogs"), (10, 4, 3),
     "train/, validation/ and test/ as given"),
    ({"train": 10, "validation": 4}, "train", ("cats", "dogs"), (8, 1, 1), "stratified 80/10/10 (seed 0)"),
    ({"": 10}, "", ("cat", "dog"), (8, 1, 1), "stratified 80/10/10 (seed 0)"),
    ({"": 10}, "", ("Cats", "DOGS"), (8, 1, 1), "stratified 80/10/10 (seed 0)"),
    ({"cats_and_dogs_filtered/train": 10, "cats_and_dogs_filtered/validation": 4}, "", ("cats", "dogs"), (9, 4, 1),
     "train/ and validation/ as given; test: 10% of train/ (stratified, seed 0)"),
    ({"dogs-vs-cats/train": 10, "dogs-vs-cats/val": 4}, "", ("cat", "dog"), (9, 4, 1),
     "train/ and val/ as given; test: 10% of train/ (stratified, seed 0)"),
], ids=["keras", "keras-with-test", "keras-train-folder", "cat-dog", "letter-case", "keras-download", "wrapped"])
def test_class_folder_layouts(tmp_path, layout, data_dir, names, sizes, source):
    root = build_keras(tmp_path / "data", layout, names)
    splits = build_dataset("dogs-vs-cats", root / data_dir)
    assert splits.classes == ["cat", "dog"] and splits.skipped == [] and splits.split_source == source
    for part, size in zip(("train", "val", "test"), sizes):
        assert Counter(y for _, y in getattr(splits, part)) == {0: size, 1: size}, part
    for path, label in all_samples(splits):
        assert Path(path).parent.name.lower().startswith(splits.classes[label])
        assert Path(path).name.startswith(splits.classes[label] + ".")


@pytest.mark.parametrize("split, sizes", [("70/15/15", (14, 3, 3)), ("64/16/20", (13, 3, 4)), ("80/10/10", (16, 2, 2))])
def test_class_folders_take_any_split_percentages(tmp_path, split, sizes):
    splits = build_dataset("dogs-vs-cats", build_keras(tmp_path, {"": 20}), split=split)
    assert tuple(Counter(y for _, y in getattr(splits, part))[0] for part in ("train", "val", "test")) == sizes
    assert splits.split_source == f"stratified {split} (seed 0)"


def test_kaggle_splits_take_any_percentages_too(root):
    splits = build_dataset("dogs-vs-cats", root, split="70/15/15")
    assert Counter(y for _, y in splits.test) == {0: 3, 1: 3} and splits.split_source == "stratified 70/15/15 (seed 0)"


def test_corrupt_file_in_class_folders_is_skipped_and_reported(tmp_path):
    root = build_keras(tmp_path, {"train": 6, "validation": 2})
    broken = root / "validation" / "dogs" / "dog.1000.jpg"
    truncate(broken)
    splits = build_dataset("dogs-vs-cats", root)
    assert [p for p, _ in splits.skipped] == [str(broken)]
    assert str(broken) not in {p for p, _ in all_samples(splits)} and len(splits.val) == 3


def test_limit_per_class_in_class_folders(tmp_path):
    small = build_dataset("dogs-vs-cats", build_keras(tmp_path, {"train": 10, "validation": 5}), limit_per_class=2)
    assert Counter(y for _, y in small.train) == Counter(y for _, y in small.val) == {0: 2, 1: 2}


@pytest.mark.parametrize("case, message", [
    ("horses", "class folder {d}/train/horses is neither cats nor dogs: Dogs vs Cats reads cats/ and dogs/ (or cat/ "
               "and dog/); other classes are the folder dataset's (--dataset folder)"),
    ("only-cats", "no 'dog' images in {d}/train: expected a class folder for each of cat, dog"),
    ("dogs-only-in-validation", "class 'dog' has images in {d}/validation but no folder in {d}/train"),
])
def test_class_folder_errors_are_one_line(tmp_path, case, message):
    root = build_keras(tmp_path, {"train": 3, "validation": 2})
    if case == "horses":
        (root / "train" / "horses").mkdir()
        picture((90, 90, 90), 1).save(root / "train" / "horses" / "horse.1.jpg")
    else:
        for dog in (root / "train" / "dogs").iterdir():
            dog.unlink()
        if case == "only-cats":
            for dog in (root / "validation" / "dogs").iterdir():
                dog.unlink()
    with pytest.raises(TunebenchError) as info:
        build_dataset("dogs-vs-cats", root)
    assert message.format(d=root) in str(info.value) and "\n" not in str(info.value)


def test_real_images_in_keras_layout(tmp_path, real_root):
    for label in ("cat", "dog"):
        images = sorted((real_root / "train").glob(f"{label}.*.jpg"))[:16]
        for part, chosen in (("train", images[:10]), ("validation", images[10:14]), ("test", images[14:])):
            (tmp_path / part / f"{label}s").mkdir(parents=True, exist_ok=True)
            for image in chosen:
                shutil.copy(image, tmp_path / part / f"{label}s" / image.name)
    splits = build_dataset("dogs-vs-cats", tmp_path / "train")  # --data-dir at Keras' train/ folder
    assert splits.classes == ["cat", "dog"] and len(all_samples(splits)) == 20
    whole = build_dataset("dogs-vs-cats", tmp_path)
    assert (len(whole.train), len(whole.val), len(whole.test)) == (20, 8, 4)
    assert all(Path(p).name.startswith(whole.classes[y]) for p, y in all_samples(whole))
    assert whole.open(whole.test[0][0]).mode == "RGB"

"""Dogs vs Cats in Kaggle's flat layout: labels from file names, corrupt files skipped, the two report splits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tunebench import TunebenchError
from tunebench.data import build_dataset
from tests.fixture_data import DOGS_VS_CATS_ODD, SHARED_DOGS_VS_CATS, all_samples, build_dogs_vs_cats

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
def test_missing_dataset_names_the_kaggle_competition(tmp_path, download):
    with pytest.raises(TunebenchError, match="kaggle competitions download -c dogs-vs-cats") as info:
        build_dataset("dogs-vs-cats", tmp_path, download=download)
    assert "train.zip" in str(info.value) and str(tmp_path) in str(info.value) and "\n" not in str(info.value)


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

"""CIFAR-10 from its python pickles: decoded pixels, test batch as test, stratified val, the cifar5 subset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tunebench import TunebenchError
from tunebench.data import build_dataset
from tests.fixture_data import CIFAR_CLASSES, SHARED_CIFAR, all_samples, build_cifar_batches, read_cifar_batch

PER_BATCH, TEST = 60, 60
CIFAR5 = ["dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return build_cifar_batches(tmp_path_factory.mktemp("cifar"), per_batch=PER_BATCH, test=TEST)


@pytest.fixture(scope="module")
def splits(folder):
    return build_dataset("cifar10", folder.parent)


def _original(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """All rows and labels of the pickles, train batches then test batch."""
    batches = [read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)] + [
        read_cifar_batch(folder / "test_batch")]
    return (np.concatenate([b[b"data"] for b in batches]),
            np.concatenate([b[b"labels"] for b in batches]))


def test_classes_and_sizes(splits):
    assert splits.classes == CIFAR_CLASSES
    assert len(splits.test) == TEST and len(splits.train) + len(splits.val) == 5 * PER_BATCH
    assert splits.pixels.shape == (5 * PER_BATCH + TEST, 32, 32, 3) and splits.pixels.dtype == np.uint8
    assert splits.skipped == [] and "test_batch" in splits.split_source


def test_pixels_and_labels_match_the_pickles(folder, splits):
    data, labels = _original(folder)
    assert tuple(np.asarray(splits.open(0))[0, 0]) == (data[0][0], data[0][1024], data[0][2048])
    assert splits.open(0).mode == "RGB" and splits.open(0).size == (32, 32)
    for row in (0, 1, 5 * PER_BATCH - 1, 5 * PER_BATCH, len(data) - 1):
        assert np.array_equal(splits.pixels[row], data[row].reshape(3, 32, 32).transpose(1, 2, 0))
    assert {row: y for row, y in all_samples(splits)} == dict(enumerate(labels.tolist()))


def test_test_batch_is_test_and_val_is_a_stratified_tenth_of_train(splits):
    train_rows = 5 * PER_BATCH
    assert all(row >= train_rows for row, _ in splits.test)
    assert all(row < train_rows for row, _ in splits.train + splits.val)
    rows = [row for row, _ in all_samples(splits)]
    assert len(rows) == len(set(rows))
    val, pool = Counter(y for _, y in splits.val), Counter(y for _, y in splits.train + splits.val)
    assert set(val) == set(range(10)) and all(val[y] == round(pool[y] * 0.1) for y in pool)


def test_split_is_deterministic(folder, splits):
    again = build_dataset("cifar10", folder)  # the batches folder itself works as data dir too
    assert (again.train, again.val, again.test) == (splits.train, splits.val, splits.test)
    assert np.array_equal(again.pixels, splits.pixels)


def test_cifar5_is_relabelled_in_the_reports_order(folder):
    data, labels = _original(folder)
    five = build_dataset("cifar5", folder.parent)
    assert five.classes == CIFAR5
    kept = np.flatnonzero(np.isin(labels, [CIFAR_CLASSES.index(c) for c in CIFAR5]))
    assert len(all_samples(five)) == len(five.pixels) == len(kept)
    assert Counter(y for _, y in all_samples(five)) == Counter(CIFAR5.index(CIFAR_CLASSES[y]) for y in labels[kept])
    for row, label in all_samples(five)[:20]:
        original = kept[row]
        assert CIFAR_CLASSES[labels[original]] == CIFAR5[label]
        assert np.array_equal(five.pixels[row], data[original].reshape(3, 32, 32).transpose(1, 2, 0))
    assert all(row >= np.searchsorted(kept, 5 * PER_BATCH) for row, _ in five.test)


def test_limit_per_class_keeps_only_the_pixels_in_use(folder):
    data, _ = _original(folder)
    limited = build_dataset("cifar10", folder, limit_per_class=2)
    for part in (limited.train, limited.val, limited.test):
        assert Counter(y for _, y in part) == {y: 2 for y in range(10)}
    assert len(limited.pixels) == 60 and sorted(row for row, _ in all_samples(limited)) == list(range(60))
    full = build_dataset("cifar10", folder)
    first_full = min(row for row, y in full.train if y == 3)
    first_limited = min(row for row, y in limited.train if y == 3)
    assert np.array_equal(limited.pixels[first_limited], full.pixels[first_full])


def test_batches_without_filenames_load(tmp_path):
    folder = build_cifar_batches(tmp_path, per_batch=20, test=20, filenames=False)
    assert b"filenames" not in read_cifar_batch(folder / "data_batch_1")
    assert len(all_samples(build_dataset("cifar10", tmp_path))) == 120


def test_truncated_pickle_is_a_one_line_error_naming_the_file(tmp_path):
    folder = build_cifar_batches(tmp_path, per_batch=20, test=20)
    broken = folder / "data_batch_3"
    broken.write_bytes(broken.read_bytes()[:5000])
    with pytest.raises(TunebenchError, match="data_batch_3 is corrupt") as info:
        build_dataset("cifar10", tmp_path)
    assert str(broken) in str(info.value) and "\n" not in str(info.value)


def test_missing_batch_file_is_named(tmp_path):
    folder = build_cifar_batches(tmp_path, per_batch=20, test=20)
    (folder / "test_batch").unlink()
    with pytest.raises(TunebenchError, match="test_batch is missing"):
        build_dataset("cifar5", tmp_path)


def test_missing_dataset_says_where_to_get_it(tmp_path):
    with pytest.raises(TunebenchError, match=r"cifar-10-python\.tar\.gz") as info:
        build_dataset("cifar10", tmp_path)
    assert "cifar-10-batches-py" in str(info.value) and "\n" not in str(info.value)


def test_download_offline_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # nothing listens there: the download cannot start
    with pytest.raises(TunebenchError, match="could not download CIFAR-10") as info:
        build_dataset("cifar10", tmp_path / "new", download=True)
    assert "cifar-10-python.tar.gz" in str(info.value) and "\n" not in str(info.value)


@pytest.fixture(scope="module")
def real():
    if not SHARED_CIFAR.is_dir():
        pytest.skip("../shared/data/cifar-10-batches-py not present")
    return build_dataset("cifar10", SHARED_CIFAR.parent)


def test_real_cifar10(real):
    assert real.classes == CIFAR_CLASSES
    assert len(real.train) + len(real.val) == 5 * 1017 and len(real.test) == 1017
    assert len(real.pixels) == 6102 and set(Counter(y for _, y in real.val)) == set(range(10))
    first = read_cifar_batch(SHARED_CIFAR / "data_batch_1")
    assert b"filenames" not in first
    assert np.array_equal(real.pixels[0], first[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0))
    test = read_cifar_batch(SHARED_CIFAR / "test_batch")
    assert sorted(y for row, y in real.test) == sorted(test[b"labels"])


def test_real_cifar5(real):
    five = build_dataset("cifar5", SHARED_CIFAR.parent)
    assert five.classes == CIFAR5
    expected = Counter(CIFAR5.index(real.classes[y]) for _, y in all_samples(real) if real.classes[y] in CIFAR5)
    assert Counter(y for _, y in all_samples(five)) == expected
    assert len(five.test) == sum(1 for _, y in real.test if real.classes[y] in CIFAR5)

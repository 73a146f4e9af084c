"""What each dataset declares in its registration: split choices, whether it downloads itself, and the errors
build_dataset gives from those declarations."""

from __future__ import annotations

import pickle
import time

import pytest

from tunebench import TunebenchError
from tunebench.data import DATASETS, DatasetNotFound, DatasetSpec, build_dataset, split_choices, split_problem
from tunebench.data import caltech101, cifar

FIXED_SPLIT = [name for name, spec in DATASETS.specs().items() if not spec.takes_split]
KAGGLE = [name for name, spec in DATASETS.specs().items() if not spec.downloads and name != "folder"]


def test_split_choices_are_every_datasets_choices_once_in_declared_order():
    assert split_choices()[:2] == ("80/10/10", "64/16/20")  # dogs-vs-cats' default first, as --set errors list them
    assert len(split_choices()) == len(set(split_choices()))
    assert set(split_choices()) == {s for spec in DATASETS.specs().values() for s in spec.splits}


def test_declarations_of_the_real_datasets():
    specs = DATASETS.specs()
    assert specs["dogs-vs-cats"].splits == ("80/10/10", "64/16/20")
    assert specs["dogs-vs-cats"].default_split == "80/10/10"
    assert [name for name in specs if specs[name].downloads] == ["caltech101", "cifar10", "cifar5"]
    assert KAGGLE == ["artworks", "dogs-vs-cats"]
    # any TRAIN/VAL/TEST percentages: the user's class folders, and Dogs vs Cats beside the report's two
    assert [name for name in specs if specs[name].ratios] == ["dogs-vs-cats", "folder"]
    assert (specs["folder"].splits, specs["folder"].default_split, specs["folder"].downloads) == ((), "80/10/10", False)
    assert FIXED_SPLIT == ["artworks", "caltech101", "cifar10", "cifar5"]


@pytest.mark.parametrize("split, problem", [
    ("70/15/15", None), ("98/1/1", None), ("80/10/10", None),
    ("50/25/20", "the percentages sum to 95, not 100"),
    ("80/20/0", "TEST is 0"), ("0/50/50", "TRAIN is 0"), ("100/0/0", "VAL and TEST are 0"),
    ("80/10", "expected TRAIN/VAL/TEST percentages"), ("80.5/9.5/10", "expected TRAIN/VAL/TEST percentages"),
    ("a/b/c", "expected TRAIN/VAL/TEST percentages"), ("-10/60/50", "expected TRAIN/VAL/TEST percentages"),
])
def test_ratio_splits_are_whole_percentages_summing_to_100_with_val_and_test(split, problem):
    found = DATASETS.spec("folder").split_problem(split)
    assert (found is None) if problem is None else (problem in found and "\n" not in found)
    assert split_problem(split) == found  # what --set split= and search-space files are checked with


@pytest.mark.parametrize("name", ["dogs-vs-cats", "folder"])
def test_a_bad_ratio_is_refused_before_reading_data(tmp_path, name):
    with pytest.raises(TunebenchError, match=f"split '80/20/0' for {name}: TEST is 0 \\(expected TRAIN/VAL/TEST "):
        build_dataset(name, tmp_path / "nowhere", split="80/20/0")


def test_a_spec_with_ratios_needs_a_valid_default():
    assert DatasetSpec(build=lambda data_dir: None, ratios=True, default_split="70/15/15").takes_split
    with pytest.raises(ValueError, match="default_split"):
        DatasetSpec(build=lambda data_dir: None, ratios=True)
    with pytest.raises(ValueError, match="default_split"):
        DatasetSpec(build=lambda data_dir: None, ratios=True, default_split="90/10/0")


@pytest.mark.parametrize("splits, default", [(("a", "b"), None), (("a", "b"), "c"), ((), "a")])
def test_a_default_split_must_be_one_of_the_choices(splits, default):
    with pytest.raises(ValueError, match="default_split"):
        DatasetSpec(build=lambda data_dir: None, splits=splits, default_split=default)


@pytest.mark.parametrize("name", FIXED_SPLIT)
def test_a_split_for_a_dataset_without_choices_is_refused_before_reading_data(tmp_path, name):
    with pytest.raises(TunebenchError, match=f"dataset '{name}' has a fixed split; it takes no split choice "
                                             r"\(got '80/10/10'\)") as info:
        build_dataset(name, tmp_path / "nowhere", split="80/10/10")
    assert "\n" not in str(info.value)


def test_an_unknown_split_names_the_choices(tmp_path, monkeypatch):
    spec = DatasetSpec(build=lambda data_dir, **_: None, splits=("80/10/10", "64/16/20"), default_split="80/10/10")
    monkeypatch.setitem(DATASETS._specs, "named-splits-only", spec)  # named split choices and no ratios
    with pytest.raises(TunebenchError, match=r"unknown split '70/15/15' for named-splits-only \(choose 80/10/10 "
                                             r"or 64/16/20\)") as info:
        build_dataset("named-splits-only", tmp_path, split="70/15/15")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", KAGGLE)
def test_download_of_a_dataset_that_cannot_download_says_so(tmp_path, name):
    with pytest.raises(DatasetNotFound, match="kaggle") as asked:
        build_dataset(name, tmp_path, download=True)
    assert "(it cannot be downloaded automatically; run `kaggle" in str(asked.value)
    assert "\n" not in str(asked.value)
    with pytest.raises(DatasetNotFound) as not_asked:
        build_dataset(name, tmp_path)
    assert "cannot be downloaded" not in str(not_asked.value) and "(run `kaggle" in str(not_asked.value)


def test_dataset_not_found_survives_pickling_whole(tmp_path):
    error = DatasetNotFound(f"X not found in {tmp_path}: expected it", "fetch it").cannot_download()
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DatasetNotFound and str(copy) == str(error) and copy.exit_code == 2


@pytest.mark.parametrize("download, by_hand", [
    (caltech101.download, ["https://data.caltech.edu/records/mzrjq-6wc02", "101_ObjectCategories.tar.gz",
                           "{data_dir}/caltech101"]),
    (cifar.download, ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "into {data_dir}"]),
])
def test_failed_download_says_where_to_put_the_files(tmp_path, monkeypatch, download, by_hand):
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # nothing listens there: the download cannot start
    data_dir = tmp_path / "new"
    started = time.monotonic()
    with pytest.raises(TunebenchError, match="could not download") as info:
        download(data_dir)
    if time.monotonic() - started > 20:
        pytest.skip("the failed download took long (a network that answers?)")
    message = str(info.value)
    assert "\n" not in message and data_dir.is_dir()
    for text in by_hand:
        assert text.format(data_dir=data_dir) in message

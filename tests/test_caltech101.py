"""Caltech101 in its real layout: classes, RGB conversion, skipped files, splits."""

from __future__ import annotations

from collections import Counter

import pytest

from tunebench import TunebenchError
from tunebench.data import build_dataset, load_rgb
from tests.conftest import CLASS_COLOURS, IMAGES_PER_CLASS, SHARED_CALTECH, build_caltech_tree
from tests.fixture_data import all_samples


def test_classes_come_from_folders_without_background_or_hidden(caltech_tree):
    splits = build_dataset("caltech101", caltech_tree)
    assert splits.classes == sorted(CLASS_COLOURS)  # BACKGROUND_Google and .ipynb_checkpoints are not classes
    assert "BACKGROUND_Google" not in {p.split("/")[-2] for p, _ in all_samples(splits)}


def test_odd_files_are_converted_or_skipped_and_named(tmp_path, capsys):
    odd = build_caltech_tree(tmp_path / "c")
    messages = []
    splits = build_dataset("caltech101", tmp_path / "c", progress=messages.append)
    paths = {p for p, _ in all_samples(splits)}
    assert str(odd["grayscale"]) in paths and str(odd["png_as_jpg"]) in paths
    assert load_rgb(str(odd["grayscale"])).mode == "RGB"
    assert load_rgb(str(odd["png_as_jpg"])).mode == "RGB"
    assert str(odd["truncated"]) not in paths and str(odd["stray"]) not in paths
    assert [path for path, _ in splits.skipped] == [str(odd["truncated"])]
    assert "truncated" in splits.skipped[0][1]
    assert messages and "checking" in messages[0]


def test_stratified_split_is_two_to_one_then_half_and_deterministic(caltech_tree):
    first = build_dataset("caltech101", caltech_tree)
    second = build_dataset("caltech101", caltech_tree)
    assert (first.train, first.val, first.test) == (second.train, second.val, second.test)
    all_paths = [p for p, _ in all_samples(first)]
    assert len(all_paths) == len(set(all_paths)) == 3 * (IMAGES_PER_CLASS + 1) - 1  # + odd files - truncated
    for label in range(3):
        test = sum(1 for _, y in first.test if y == label)
        train = sum(1 for _, y in first.train if y == label)
        val = sum(1 for _, y in first.val if y == label)
        assert test == round((test + train + val) / 3) and abs(train - val) <= 1


def test_limit_per_class_applies_to_every_split(caltech_tree):
    splits = build_dataset("caltech101", caltech_tree, limit_per_class=2)
    for part in (splits.train, splits.val, splits.test):
        assert max(Counter(y for _, y in part).values()) <= 2


def test_split_files_define_the_split(caltech_tree):
    root = caltech_tree
    (root / "train.txt").write_text("Faces/image_0001.jpg\nFaces/image_0002.jpg\nant/image_0001.jpg\n"
                                    "ant/image_0002.jpg\nBACKGROUND_Google/image_0001.jpg\nant/image_0777.jpg\n")
    (root / "test.txt").write_text("Faces/image_0003.jpg\nairplanes/image_0001.jpg\n")
    splits = build_dataset("caltech101", root)
    assert sorted(p.split("101_ObjectCategories/")[1] for p, _ in splits.test) == [
        "Faces/image_0003.jpg", "airplanes/image_0001.jpg"]
    assert len(splits.train) + len(splits.val) == 4  # background dropped, missing file skipped
    assert ("ant/image_0777.jpg" in splits.skipped[0][0]) and "missing" in splits.skipped[0][1]


def test_data_dir_may_hold_caltech101_folder(tmp_path):
    build_caltech_tree(tmp_path / "caltech101")
    assert build_dataset("caltech101", tmp_path).num_classes == 3


def test_missing_data_dir_is_an_error(tmp_path):
    with pytest.raises(TunebenchError, match="does not exist"):
        build_dataset("caltech101", tmp_path / "nowhere")


def test_folder_without_caltech_says_where_to_put_it(tmp_path):
    with pytest.raises(TunebenchError, match="101_ObjectCategories"):
        build_dataset("caltech101", tmp_path)


def test_empty_class_folder_is_an_error(caltech_tree):
    for f in (caltech_tree / "101_ObjectCategories" / "ant").iterdir():
        f.unlink()
    with pytest.raises(TunebenchError, match="ant has no images"):
        build_dataset("caltech101", caltech_tree)


def test_download_offline_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # nothing listens there: the download cannot start
    with pytest.raises(TunebenchError, match="could not download Caltech101") as info:
        build_dataset("caltech101", tmp_path / "new", download=True)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not SHARED_CALTECH.is_dir(), reason="../shared/data/caltech101 not present")
def test_real_caltech101_with_the_reports_split():
    splits = build_dataset("caltech101", SHARED_CALTECH)
    assert splits.num_classes == 101
    assert len(all_samples(splits)) + len(splits.skipped) == 8677
    listed_test = [l for l in (SHARED_CALTECH / "test.txt").read_text().split() if not l.startswith("BACKGROUND")]
    assert len(splits.test) + sum("test.txt" in r for _, r in splits.skipped) == len(listed_test)
    assert "train.txt" in splits.split_source
    assert abs(len(splits.train) - len(splits.val)) <= 101


def test_a_split_file_may_name_an_image_below_its_class_folder(caltech_tree):
    """Lines are looked up in the class folders' listing; one naming a file deeper down is still found on disk."""
    root = caltech_tree
    deeper = root / "101_ObjectCategories" / "ant" / "more" / "image_0001.jpg"
    deeper.parent.mkdir()
    deeper.write_bytes((root / "101_ObjectCategories" / "ant" / "image_0002.jpg").read_bytes())
    (root / "train.txt").write_text("Faces/image_0001.jpg\nFaces/image_0002.jpg\nant/image_0001.jpg\n"
                                    "ant/more/image_0001.jpg\nant/image_0777.jpg\nairplanes/image_0001.jpg\n"
                                    "airplanes/image_0002.jpg\n")
    (root / "test.txt").write_text("Faces/image_0003.jpg\nant/image_0003.jpg\nairplanes/image_0003.jpg\n")
    splits = build_dataset("caltech101", root)
    assert str(deeper) in {path for path, _ in splits.train + splits.val}
    assert [path.split("101_ObjectCategories/")[1] for path, _ in splits.skipped] == ["ant/image_0777.jpg"]

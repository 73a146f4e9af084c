"""Best Artworks of All Time in its Kaggle layout: 50 painters from artists.csv, mangled folder names, splits."""

from __future__ import annotations

import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from tunebench import TunebenchError
from tunebench.data import build_dataset, load_rgb
from tunebench.data.artworks import normalise_name
from tests.fixture_data import ARTWORKS_ODD, DURER_FOLDER, all_samples, build_artworks_tree, painters

PER_PAINTER = 10


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return build_artworks_tree(tmp_path_factory.mktemp("artworks"), images_per_painter=PER_PAINTER)


@pytest.fixture(scope="module")
def splits(tree):
    return build_dataset("artworks", tree)


@pytest.fixture
def small_tree(tmp_path) -> Path:
    return build_artworks_tree(tmp_path / "artworks", images_per_painter=2)


def test_the_50_painters_of_the_csv_are_the_classes(splits):
    assert splits.classes == sorted(painters()) and splits.num_classes == 50
    assert "Albrecht Dürer" in splits.classes and "Vincent van Gogh" in splits.classes


def test_durer_is_read_from_the_mojibake_folder_of_the_real_archive(splits):
    assert DURER_FOLDER == "Albrecht_Du╠êrer"
    durer = splits.classes.index("Albrecht Dürer")
    paths = [p for p, y in all_samples(splits) if y == durer]
    assert len(paths) == PER_PAINTER and all(f"/{DURER_FOLDER}/" in p for p in paths)


def test_every_painter_has_its_images_and_only_its_own(splits):
    counts = Counter(y for _, y in all_samples(splits))
    for label, name in enumerate(splits.classes):
        extra = {"Pablo Picasso": 1}.get(name, 0)  # + the grayscale file
        assert counts[label] == PER_PAINTER + extra, name
    for path, label in all_samples(splits):
        folder = Path(path).parent.name
        assert normalise_name(folder) == normalise_name(splits.classes[label])


def test_corrupt_file_is_skipped_and_named_stray_and_resized_ignored(tree, splits):
    paths = {p for p, _ in all_samples(splits)}
    assert splits.skipped == [(str(tree / ARTWORKS_ODD["corrupt"]), splits.skipped[0][1])]
    assert "truncated" in splits.skipped[0][1]
    assert str(tree / ARTWORKS_ODD["corrupt"]) not in paths
    assert not any("notes.txt" in p or ".DS_Store" in p or "/resized/" in p for p in paths)


def test_grayscale_painting_loads_as_rgb(tree, splits):
    grayscale = str(tree / ARTWORKS_ODD["grayscale"])
    assert grayscale in {p for p, _ in all_samples(splits)}
    assert load_rgb(grayscale).mode == "RGB" and splits.open(grayscale).mode == "RGB"


def test_split_is_80_10_10_stratified_without_overlap(splits):
    paths = [p for p, _ in all_samples(splits)]
    assert len(paths) == len(set(paths)) == 50 * PER_PAINTER + 1
    for label in range(50):
        sizes = [sum(1 for _, y in part if y == label) for part in (splits.train, splits.val, splits.test)]
        total = sum(sizes)
        assert sizes[2] == round(total * 0.1) and sizes[1] == round((total - sizes[2]) / 9)
    assert "80/10/10" in splits.split_source


def test_split_is_deterministic(tree, splits):
    again = build_dataset("artworks", tree)
    assert (again.train, again.val, again.test) == (splits.train, splits.val, splits.test)


def test_limit_per_class_applies_to_every_split(tree):
    limited = build_dataset("artworks", tree, limit_per_class=3)
    assert max(Counter(y for _, y in limited.train).values()) == 3
    for part in (limited.val, limited.test):
        assert max(Counter(y for _, y in part).values()) <= 3


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_durer_folder_in_plain_unicode_is_matched_too(small_tree, form):
    images = small_tree / "images" / "images"
    (images / DURER_FOLDER).rename(images / unicodedata.normalize(form, "Albrecht_Dürer"))
    splits = build_dataset("artworks", small_tree)
    durer = splits.classes.index("Albrecht Dürer")
    assert sum(1 for _, y in all_samples(splits) if y == durer) == 2
    assert [p for p, _ in splits.skipped] == [str(small_tree / ARTWORKS_ODD["corrupt"])]


def test_name_normalisation():
    assert normalise_name("Albrecht_Du╠êrer") == normalise_name("Albrecht Dürer") == "albrecht durer"
    assert normalise_name(unicodedata.normalize("NFD", "Albrecht_Dürer")) == "albrecht durer"
    assert normalise_name("Pierre-Auguste_Renoir") == "pierre-auguste renoir"


def test_folder_of_no_painter_is_skipped_and_reported(small_tree):
    stranger = small_tree / "images" / "images" / "Banksy"
    stranger.mkdir()
    shutil.copy(small_tree / "images" / "images" / "Titian" / "Titian_1.jpg", stranger / "Banksy_1.jpg")
    splits = build_dataset("artworks", small_tree)
    assert (str(stranger), "folder matches no painter in artists.csv") in splits.skipped
    assert not any("Banksy" in p for p, _ in all_samples(splits))


def test_painter_without_folder_is_a_one_line_error(small_tree):
    shutil.rmtree(small_tree / "images" / "images" / "Frida_Kahlo")
    with pytest.raises(TunebenchError, match="painter 'Frida Kahlo'.*Frida_Kahlo") as info:
        build_dataset("artworks", small_tree)
    assert "\n" not in str(info.value)


def test_painter_folder_without_images_is_an_error(small_tree):
    for f in (small_tree / "images" / "images" / "Titian").iterdir():
        f.unlink()
    with pytest.raises(TunebenchError, match="Titian.*has no images"):
        build_dataset("artworks", small_tree)


def test_root_may_be_best_artworks_folder_and_images_single_level(tmp_path):
    root = build_artworks_tree(tmp_path / "best-artworks", images_per_painter=2)
    assert build_dataset("artworks", tmp_path).num_classes == 50
    (root / "images" / "images").rename(root / "flat")
    shutil.rmtree(root / "images")
    (root / "flat").rename(root / "images")
    assert build_dataset("artworks", tmp_path).num_classes == 50


@pytest.mark.parametrize("download", [False, True])
def test_missing_dataset_names_the_kaggle_download(tmp_path, download):
    with pytest.raises(TunebenchError, match="kaggle datasets download ikarus777/best-artworks-of-all-time") as info:
        build_dataset("artworks", tmp_path, download=download)
    assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)


def test_csv_without_name_column_is_an_error(small_tree):
    (small_tree / "artists.csv").write_text("id,painter\n0,Titian\n")
    with pytest.raises(TunebenchError, match="no 'name' column"):
        build_dataset("artworks", small_tree)


def test_vendored_csv_is_the_real_one():
    from tests.fixture_data import ARTISTS_CSV, SHARED_DATA

    real = SHARED_DATA / "best-artworks" / "artists.csv"
    if not real.is_file():
        pytest.skip("../shared/data/best-artworks not present")
    assert ARTISTS_CSV.read_bytes() == real.read_bytes()

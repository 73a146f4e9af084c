"""The decoded-image cache and its batches: the same pixels as the DataLoader path, built once, rebuilt when
stale or corrupt."""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import build_caltech_tree
from tests.fixture_data import at_once
from tunebench import TunebenchError
from tunebench.data import build_dataset
from tunebench.data.batches import CachedBatches, make_batches
from tunebench.settings import DataSettings
from tunebench.data.cache import cache_path, open_split
from tunebench.data.images import ImageSplits, map_images

CPU = torch.device("cpu")


def _all(batches) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*batches)
    return torch.cat(images), torch.cat(labels)


@pytest.mark.parametrize("resize, color, normalize, size", [
    ("crop", "rgb", "scratch", 64), ("crop", "grayscale", "scratch", 48), ("square", "rgb", "imagenet", 40)])
def test_cached_batches_are_exactly_the_dataloader_tensors(caltech, resize, color, normalize, size):
    data = DataSettings(image_size=size, resize=resize, color=color, normalize=normalize, batch_size=7)
    cached = _all(make_batches(data, caltech, "val", train=False, seed=0, device=CPU))
    naive = _all(make_batches(replace(data, data_pipeline="naive"), caltech, "val", train=False, seed=0, device=CPU))
    assert cached[0].shape == (len(caltech.val), 1 if color == "grayscale" else 3, size, size)
    assert torch.equal(cached[0], naive[0]) and torch.equal(cached[1], naive[1])


def test_in_memory_dataset_pixels_are_cached_too(tmp_path):
    from tests.fixture_data import build_cifar_batches

    build_cifar_batches(tmp_path)
    splits = build_dataset("cifar10", tmp_path)
    data = DataSettings(image_size=32, resize="square", normalize="cifar10", batch_size=16)
    cached = _all(make_batches(data, splits, "train", train=False, seed=0, device=CPU))
    naive = _all(make_batches(replace(data, data_pipeline="naive"), splits, "train", train=False, seed=0, device=CPU))
    assert torch.equal(cached[0], naive[0]) and torch.equal(cached[1], naive[1])


def test_a_split_is_decoded_once_and_then_read(caltech):
    first = open_split(caltech, "test", image_size=40)
    again = open_split(caltech, "test", image_size=40)
    assert first.built and not again.built and first.path == again.path
    assert np.array_equal(first.images, again.images)
    assert again.labels.tolist() == [label for _, label in caltech.test]


def test_size_colour_and_changed_images_build_new_files(tmp_path):
    root = tmp_path / "data"
    build_caltech_tree(root)
    splits = build_dataset("caltech101", root)
    paths = {cache_path(splits, "train", 32), cache_path(splits, "train", 48),
             cache_path(splits, "train", 32, color="grayscale"), cache_path(splits, "train", 32, resize="square"),
             cache_path(splits, "val", 32)}
    assert len(paths) == 5
    before = cache_path(splits, "train", 32)
    changed = splits.train[0][0]
    shutil.copy(splits.train[1][0], changed)  # a replaced image: same path, new content
    os.utime(changed, ns=(1, 1))
    assert cache_path(splits, "train", 32) != before
    assert open_split(splits, "train", image_size=32).built


def _open_in_process(root: str, cache: str, barrier, results) -> None:
    os.environ["TUNEBENCH_CACHE"] = cache
    splits = build_dataset("caltech101", Path(root))
    barrier.wait()  # both processes ask for the cache at the same moment
    split = open_split(splits, "train", image_size=96)
    results.put((split.built, int(split.images.sum())))


def test_two_concurrent_trials_build_one_cache_file(tmp_path, tunebench_cache):
    root = tmp_path / "data"
    build_caltech_tree(root)
    outcomes = at_once(_open_in_process, str(root), str(tunebench_cache))
    assert sorted(built for built, _ in outcomes) == [False, True]  # one built it, the other waited and read it
    assert outcomes[0][1] == outcomes[1][1] > 0
    folder = cache_path(build_dataset("caltech101", root), "train", 96).parent
    assert len(list(folder.glob("train-96px-*.npy"))) == 1 and not list(folder.glob("*.tmp*"))


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "no sidecar", "garbage header"])
def test_a_corrupt_cache_file_is_detected_and_rebuilt(tmp_path, damage):
    root = tmp_path / "data"
    build_caltech_tree(root)
    splits = build_dataset("caltech101", root)
    good = open_split(splits, "val", image_size=24)
    expected = np.array(good.images)
    path = good.path
    if damage == "flipped byte":
        data = bytearray(path.read_bytes())
        data[-100] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-500])
    elif damage == "no sidecar":
        path.with_suffix(".json").unlink()
    else:
        path.write_bytes(b"not a numpy file" + path.read_bytes()[16:])
    with pytest.warns(UserWarning, match="unusable"):
        rebuilt = open_split(splits, "val", image_size=24)
    assert rebuilt.built and np.array_equal(rebuilt.images, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not open_split(splits, "val", image_size=24).built


LEVELS = torch.tensor([4.0, 10.0, 25.0, 62.0, 155.0])  # 2.5x apart: a 0.8-1.2 brightness change keeps them apart


def _labelled_splits(count: int, size: int = 16) -> ImageSplits:
    """An in-memory dataset whose every image is one flat grey level that encodes its label."""
    labels = [i % len(LEVELS) for i in range(count)]
    pixels = np.stack([np.full((size, size, 3), int(LEVELS[label]), dtype=np.uint8) for label in labels])
    samples = list(enumerate(labels))
    return ImageSplits([str(c) for c in range(len(LEVELS))], samples, samples[:10], [], pixels=pixels, name="grey")


@pytest.mark.parametrize("augment", ["none", "rot90", "flip_rotate_perspective", "cifar", "keras"])
def test_shuffled_augmented_batches_keep_every_image_with_its_label(augment):
    splits = _labelled_splits(50)
    data = DataSettings(image_size=16, resize="square", normalize="unit", augment=augment, batch_size=8)
    batches = make_batches(data, splits, "train", train=True, seed=3, device=CPU)
    assert isinstance(batches, CachedBatches) and len(batches) == 7
    epochs = []
    for _ in range(2):
        seen = []
        for images, labels in batches:
            assert images.dtype == torch.float32 and images.shape[1:] == (3, 16, 16) and labels.dtype == torch.int64
            centre = images[:, 0, 8, 8] * 255  # geometric ops keep the centre pixel inside the picture
            if augment == "keras":  # brightness 0.8-1.2 scales the grey level: only its own label's level fits
                assert ((centre / LEVELS[labels] - 1).abs() <= 0.2 + 1e-4).all()
            else:
                assert torch.allclose(centre, LEVELS[labels], atol=0.5)
            seen.extend(labels.tolist())
        assert sorted(seen) == sorted(label for _, label in splits.train)  # every image once per epoch
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # reshuffled every epoch


def test_batches_are_reproducible_from_the_seed():
    splits = _labelled_splits(40)
    data = DataSettings(image_size=16, resize="square", normalize="unit", augment="flip_rotate_perspective",
                        batch_size=8)
    runs = [_all(make_batches(data, splits, "train", train=True, seed=seed, device=CPU)) for seed in (1, 1, 2)]
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert not torch.equal(runs[0][1], runs[2][1])


def test_a_cache_that_cannot_be_written_is_one_clear_error(tmp_path, monkeypatch):
    root = tmp_path / "data"
    build_caltech_tree(root)
    splits = build_dataset("caltech101", root)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("TUNEBENCH_CACHE", str(blocker))
    with pytest.raises(TunebenchError, match=r"cannot write the image cache in .*not-a-folder.* split needs "
                                             r"[0-9.]+ GiB\): set TUNEBENCH_CACHE to a folder with room"):
        open_split(splits, "train", image_size=32)


def test_long_decoding_shows_a_progress_bar_and_its_closing_line(capsys):
    results = map_images(lambda i: i * 2, range(2500), "caching", show=True)
    assert results == [i * 2 for i in range(2500)]  # in order
    assert capsys.readouterr().out.startswith("caching: 2500 images in ")
    map_images(lambda i: i, range(10), "caching")
    assert capsys.readouterr().out == ""  # without show: silent


def test_a_cache_build_says_where_and_closes_with_count_time_and_rate(caltech_tree, capsys):
    splits = build_dataset("caltech101", caltech_tree)
    lines = []
    open_split(splits, "train", image_size=24, progress=lines.append)
    path = cache_path(splits, "train", 24)
    assert lines == [f"caching caltech101 train at 24 px: {len(splits.train)} images into {path.parent}"]
    closing = capsys.readouterr().out.splitlines()[-1]
    assert closing.startswith(f"caching caltech101 train at 24 px: {len(splits.train)} images in ")
    assert closing.endswith(" images/s)")

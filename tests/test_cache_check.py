"""Opening the decoded-image cache: its CRC is read once per version of a file, not once per process, and the
cache key hashes the samples as it always did (existing cache files stay valid). Real JPEGs, real cache files."""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import build_caltech_tree
from tunebench.data import build_dataset, cache
from tunebench.data.cache import open_split
from tunebench.data.images import ImageSplits


@pytest.fixture
def crc_reads(monkeypatch) -> list[int]:
    """The sizes of the cache files whose pixels were read whole for their CRC (zlib.crc32 as cache.py calls it)."""
    reads: list[int] = []

    def counted(data, *args):
        reads.append(len(data))
        return zlib.crc32(data, *args)
    monkeypatch.setattr(cache, "zlib", SimpleNamespace(crc32=counted))
    return reads


def new_process(monkeypatch) -> None:
    """What a fresh trial process knows of the cache: nothing checked yet."""
    monkeypatch.setattr(cache, "_verified", {})


def settle(path: Path) -> None:
    """Make the cache file look written a minute ago (as when a later search opens it)."""
    then = time.time_ns() - 60 * 10**9
    os.utime(path, ns=(then, then))


def test_a_cache_file_is_read_whole_once_per_version(tmp_path, monkeypatch, crc_reads):
    build_caltech_tree(tmp_path / "data")
    splits = build_dataset("caltech101", tmp_path / "data")
    built = open_split(splits, "train", image_size=24)
    assert built.built and len(crc_reads) == 1  # the builder's own CRC of what it wrote
    expected = np.array(built.images)

    new_process(monkeypatch)
    assert not open_split(splits, "train", image_size=24).built
    assert len(crc_reads) == 2  # written moments ago: a later write could keep its time, so it is checked again

    settle(built.path)
    for opened in range(2):  # a trial, then a later search: only the first reads the file whole
        new_process(monkeypatch)
        again = open_split(splits, "train", image_size=24)
        assert not again.built and np.array_equal(again.images, expected)
        assert again.labels.tolist() == [label for _, label in splits.train]
        assert len(crc_reads) == 3


def test_a_checked_file_that_changes_is_checked_again_and_rebuilt(tmp_path, monkeypatch):
    build_caltech_tree(tmp_path / "data")
    splits = build_dataset("caltech101", tmp_path / "data")
    path = open_split(splits, "val", image_size=24).path
    expected = np.array(np.load(path))
    settle(path)
    new_process(monkeypatch)
    open_split(splits, "val", image_size=24)  # checked, and the check recorded

    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))  # a new modification time
    new_process(monkeypatch)
    with pytest.warns(UserWarning, match="pixel checksum does not match"):
        rebuilt = open_split(splits, "val", image_size=24)
    assert rebuilt.built and np.array_equal(rebuilt.images, expected)


def test_the_cache_key_is_the_hash_of_one_sample_at_a_time(tmp_path):
    """The key hashes the samples in chunks; the hash is the one of hashing each sample's line in turn, so cache
    files built before stay valid."""
    build_caltech_tree(tmp_path / "data")
    files = sorted(str(p) for p in (tmp_path / "data" / "101_ObjectCategories" / "Faces").glob("image_000*.jpg"))
    samples = [(files[i % len(files)], i % 3) for i in range(2 * cache.FINGERPRINT_CHUNK + 7)]
    splits = ImageSplits(["a", "b", "c"], samples, [], [])
    digest = hashlib.sha1(str(cache.VERSION).encode())
    for path, label in samples:
        stat = os.stat(path)
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n".encode())
    assert cache._fingerprint(splits, "train") == digest.hexdigest()[:16]

"""benchmarks/scale_start.py's trees: hard links to real JPEGs in the Caltech101 layout, read whole by the
caltech101 and folder datasets (the benchmark times those builders on them)."""

from __future__ import annotations

import os

from benchmarks.scale_start import CATEGORIES, CLASSES, build_tree
from tests.conftest import build_caltech_tree
from tests.fixture_data import all_samples
from tunebench.data import build_dataset


def test_a_benchmark_tree_is_hard_links_every_builder_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNEBENCH_CACHE", str(tmp_path / "cache"))
    build_caltech_tree(tmp_path / "sources")
    files = sorted(str(p) for p in (tmp_path / "sources" / CATEGORIES / "Faces").glob("image_000*.jpg"))
    root = build_tree(2 * CLASSES + 5, tmp_path / "tree", files)
    linked = sorted((root / CATEGORIES).rglob("*.jpg"))
    assert len(linked) == 2 * CLASSES + 5 and all(os.stat(p).st_nlink > 1 for p in linked)
    for dataset, data_dir in (("caltech101", root), ("folder", root / CATEGORIES)):
        splits = build_dataset(dataset, data_dir)
        assert len(all_samples(splits)) == len(linked) and splits.skipped == []
        assert splits.num_classes == CLASSES

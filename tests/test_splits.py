"""Per-class limits over a dataset's train / val / test splits."""

from __future__ import annotations

from collections import Counter

import numpy as np

from tunebench.data.images import ImageSplits
from tunebench.data.splits import limited


def _splits() -> ImageSplits:
    part = [(f"{c}/{i}.jpg", label) for label, c in enumerate("ab") for i in range(5, 0, -1)]  # not in file order
    return ImageSplits(["a", "b"], part, part[:4] + part[5:7], part[5:], [("x.jpg", "broken")], "source",
                       pixels=np.zeros((1, 2, 2, 3), np.uint8), name="toy")


def test_limit_keeps_the_first_files_of_every_class_in_every_split():
    small = limited(_splits(), 2)
    assert small.train == [("a/1.jpg", 0), ("a/2.jpg", 0), ("b/1.jpg", 1), ("b/2.jpg", 1)]
    assert Counter(y for _, y in small.val) == {0: 2, 1: 2}
    assert small.test == [("b/1.jpg", 1), ("b/2.jpg", 1)]


def test_limit_keeps_everything_else():
    original = _splits()
    small = limited(original, 1)
    assert (small.classes, small.skipped, small.split_source, small.name) == (
        original.classes, original.skipped, original.split_source, original.name)
    assert small.pixels is original.pixels
    assert len(original.train) == 10  # the original is left as it was


def test_no_limit_keeps_every_sample():
    original = _splits()
    assert limited(original, None) == original


def test_ratio_fractions_keep_the_reports_splits_and_refuse_bad_ones():
    import pytest

    from tunebench import TunebenchError
    from tunebench.data.splits import ratio_fractions

    # (test, val) fractions of all images: the same numbers dogs-vs-cats used for its two named splits
    assert ratio_fractions("80/10/10") == (0.10, 0.10) and ratio_fractions("64/16/20") == (0.20, 0.16)
    assert ratio_fractions(" 70/15/15 ") == (0.15, 0.15)
    with pytest.raises(TunebenchError, match=r"split '70/30/0': TEST is 0 \(expected TRAIN/VAL/TEST percentages"):
        ratio_fractions("70/30/0")

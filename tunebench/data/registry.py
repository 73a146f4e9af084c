"""Dataset registry: each entry turns a data folder into an ImageSplits, and declares its split choices and
whether it can download itself.

    @DATASETS.register("dogs-vs-cats", splits=("80/10/10", "64/16/20"), ratios=True, default_split="80/10/10")
    def dogs_vs_cats(data_dir, *, split, limit_per_class=None, progress=None): ...

A builder takes `data_dir` and the keywords `limit_per_class` and `progress`; `split` too when it takes a split
(named choices, or `ratios=True`: any "TRAIN/VAL/TEST" percentages, splits.ratio_problem), and `download_missing`
when it declares `downloads=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tunebench.data.images import ImageSplits
from tunebench.data.splits import ratio_problem
from tunebench.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its builder, its split choices (none: one fixed split), whether it takes any
    "TRAIN/VAL/TEST" percentages beside them (ratios), and whether it downloads."""

    build: Callable[..., ImageSplits]
    splits: tuple[str, ...] = ()     # named choices (a report's splits), listed first in errors and help
    default_split: str | None = None
    downloads: bool = False
    ratios: bool = False             # any valid "TRAIN/VAL/TEST" percentages too (splits.ratio_problem)

    def __post_init__(self) -> None:
        if self.takes_split and self.split_problem(self.default_split or ""):
            raise ValueError(f"default_split {self.default_split!r} is not one of the splits {self.splits}")
        if not self.takes_split and self.default_split is not None:
            raise ValueError(f"default_split {self.default_split!r} given without split choices")

    @property
    def takes_split(self) -> bool:
        """Whether the builder takes a `split` (else the dataset has one fixed split)."""
        return bool(self.splits) or self.ratios

    def split_problem(self, split: str) -> str | None:
        """What is wrong with `split` for this dataset, or None."""
        if split in self.splits:
            return None
        if self.ratios:
            return ratio_problem(split)
        return f"choose {' or '.join(self.splits)}"


DATASETS: Registry = Registry("dataset", DatasetSpec)

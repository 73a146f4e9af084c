"""Dataset registry: each entry turns a data folder into an ImageSplits, and declares its split choices and
whether it can download itself.

    @DATASETS.register("dogs-vs-cats", splits=("80/10/10", "64/16/20"), default_split="80/10/10")
    def dogs_vs_cats(data_dir, *, split, limit_per_class=None, progress=None): ...

A builder takes `data_dir` and the keywords `limit_per_class` and `progress`; `split` too when it declares split
choices, and `download_missing` when it declares `downloads=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tunebench.data.images import ImageSplits
from tunebench.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its builder, its split choices (none: one fixed split) and whether it downloads."""

    build: Callable[..., ImageSplits]
    splits: tuple[str, ...] = ()
    default_split: str | None = None
    downloads: bool = False

    def __post_init__(self) -> None:
        if self.splits and self.default_split not in self.splits:
            raise ValueError(f"default_split {self.default_split!r} is not one of the splits {self.splits}")
        if not self.splits and self.default_split is not None:
            raise ValueError(f"default_split {self.default_split!r} given without split choices")


DATASETS: Registry = Registry("dataset", DatasetSpec)

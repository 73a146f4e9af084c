"""Samples -> batches: the plain ImageFolder-style path (decode, transform, collate in a DataLoader)."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from tunebench.data.images import ImageSplits, Sample


class ImageDataset(Dataset):
    def __init__(self, splits: ImageSplits, samples: Sequence[Sample], transform: Callable,
                 min_side: int | None = None) -> None:
        self.splits = splits
        self.samples = list(samples)
        self.transform = transform
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        key, label = self.samples[index]
        return self.transform(self.splits.open(key, self.min_side)), label


def make_loader(splits: ImageSplits, samples: Sequence[Sample], transform: Callable, *, batch_size: int,
                shuffle: bool, workers: int = 0, seed: int = 0, min_side: int | None = None) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(ImageDataset(splits, samples, transform, min_side), batch_size=batch_size, shuffle=shuffle,
                      num_workers=workers, generator=generator, pin_memory=torch.cuda.is_available(),
                      persistent_workers=workers > 0)

"""Samples -> batches: the plain ImageFolder-style path (decode, transform, collate in a DataLoader)."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from tunebench.data.images import ImageSplits, Sample
from tunebench.data.transforms import resize_side
from tunebench.settings import DataSettings


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


def make_loader(splits: ImageSplits, samples: Sequence[Sample], transform: Callable, data: DataSettings, *,
                shuffle: bool, seed: int = 0) -> DataLoader:
    """Batches of `data.batch_size` decoded by `data.workers` processes; JPEGs decoded at the smallest scale that
    still covers the resize (resize_side)."""
    generator = torch.Generator().manual_seed(seed)
    dataset = ImageDataset(splits, samples, transform, resize_side(data.image_size))
    return DataLoader(dataset, batch_size=data.batch_size, shuffle=shuffle, num_workers=data.workers,
                      generator=generator, pin_memory=torch.cuda.is_available(), persistent_workers=data.workers > 0)

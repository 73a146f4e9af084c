"""A trial's batches: from the decoded-image cache (the default) or the plain DataLoader path (the baseline).

cached  gather a batch of uint8 rows from the memory-mapped split (the next batch is gathered in a thread while
        the model trains on this one), copy it to the device (pinned and non-blocking on CUDA), then convert,
        augment (tunebench.data.augment, whole-batch tensor ops) and normalise there.
naive   torchvision's ImageFolder-style path: every epoch decodes, resizes and augments every image again in the
        DataLoader's workers (`workers`).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from tunebench.data.augment import augment_batch
from tunebench.data.cache import CachedSplit, open_split
from tunebench.data.images import ImageSplits
from tunebench.data.loader import make_loader
from tunebench.data.transforms import channel_stats, transform_for
from tunebench.settings import DATA_PIPELINES, DataSettings


class CachedBatches:
    """(images, labels) batches of a cached split, on `device`, ready for the model."""

    def __init__(self, split: CachedSplit, *, batch_size: int, shuffle: bool, seed: int, device: torch.device,
                 augment: str = "none", stats: tuple | None = None) -> None:
        self.split, self.batch_size, self.shuffle, self.device = split, batch_size, shuffle, device
        self.augment, self.stats = augment, stats
        self.order_generator = torch.Generator().manual_seed(seed)
        self.augment_generator = torch.Generator().manual_seed(seed + 1)

    def __len__(self) -> int:
        return math.ceil(len(self.split.labels) / self.batch_size)

    def _gather(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        rows = np.sort(rows)  # in file order: sequential reads of the memory map; the batch's order is irrelevant
        images, labels = torch.from_numpy(self.split.images[rows]), torch.from_numpy(self.split.labels[rows])
        if self.device.type == "cuda":
            images, labels = images.pin_memory(), labels.pin_memory()
        return images, labels

    def _prepare(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = F.to_dtype(images.to(self.device, non_blocking=True), torch.float32, scale=True)
        if self.augment != "none":
            images = augment_batch(images, self.augment, self.augment_generator)
        if self.stats:
            images = F.normalize(images, *self.stats, inplace=True)
        return images, labels.to(self.device, non_blocking=True)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.split.labels)
        order = torch.randperm(count, generator=self.order_generator) if self.shuffle else torch.arange(count)
        batches = [order[i:i + self.batch_size].numpy() for i in range(0, count, self.batch_size)]
        if not batches:
            return
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(self._gather, batches[0])
            for following in [*batches[1:], None]:
                images, labels = pending.result()
                if following is not None:
                    pending = reader.submit(self._gather, following)
                yield self._prepare(images, labels)


def batch_generators(batches) -> list[torch.Generator]:
    """The random generators a split's batches draw from (order, augmentation): a checkpoint saves their states,
    so a resumed trial draws the batches an uninterrupted one would."""
    if isinstance(batches, CachedBatches):
        return [batches.order_generator, batches.augment_generator]
    return [batches.generator] if getattr(batches, "generator", None) is not None else []


def make_batches(data: DataSettings, splits: ImageSplits, part: str, *, train: bool, seed: int,
                 device: torch.device, progress: Callable[[str], None] | None = None):
    """A split's batches: `data_pipeline` cached (default) or naive; augmentation on train. `data.normalize` is
    resolved (not "auto")."""
    if data.data_pipeline not in DATA_PIPELINES:
        raise ValueError(f"data_pipeline must be one of {DATA_PIPELINES}, not {data.data_pipeline!r}")
    if data.data_pipeline == "naive":
        return make_loader(splits, getattr(splits, part), transform_for(data, train), data, shuffle=train, seed=seed)
    split = open_split(splits, part, image_size=data.image_size, resize=data.resize, color=data.color,
                       progress=progress)
    return CachedBatches(split, batch_size=data.batch_size, shuffle=train, seed=seed, device=device,
                         augment=data.augment if train else "none", stats=channel_stats(data.normalize, data.color))

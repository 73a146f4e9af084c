"""A trial's batches: from the decoded-image cache (the default) or the plain DataLoader path (the baseline).

cached  gather a batch of uint8 rows from the memory-mapped split (the next batch is gathered in a thread while
        this one is prepared), copy it to the device (pinned and non-blocking on CUDA), then convert, augment
        (tunebench.data.augment, whole-batch tensor ops) and normalise there. On CPU the preparing runs in a
        producer thread (`prefetched`), `PREFETCH` ready batches ahead of the training loop, so it overlaps the
        model's forward and backward (torch ops release the GIL); on CUDA it is queued on the device from the loop.
naive   torchvision's ImageFolder-style path: every epoch decodes, resizes and augments every image again in the
        DataLoader's workers (`workers`).
"""

from __future__ import annotations

import math
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from tunebench.data.augment import augment_batch, scratch
from tunebench.data.cache import CachedSplit, open_split
from tunebench.data.images import ImageSplits
from tunebench.data.loader import make_loader
from tunebench.data.transforms import channel_stats, transform_for
from tunebench.settings import DATA_PIPELINES, DataSettings

PREFETCH = 1  # CPU: ready batches the producer keeps ahead of the training loop (one more is being prepared)
_DONE = object()


def prefetched(items: Iterator, depth: int = PREFETCH) -> Iterator:
    """`items` as they are, made by a producer thread that keeps up to `depth` of them ready ahead of the loop.

    The producer keeps torch's thread setting: measured on 2 cores, the model trained faster so than with the
    producer on one intra-op thread, or with two such producers side by side. An exception in the producer is
    raised here as itself, its traceback included. When this generator is closed (the loop ends, breaks or
    raises) the producer stops, closes `items` in its thread and is waited for: no thread outlives the loop.
    Items made ahead of a break are dropped.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        outcome = _DONE
        try:
            for item in items:
                ready.put(item)
                if stop.is_set():
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the loop's thread, raised there
            outcome = error
        finally:
            items.close()
        ready.put(outcome)

    producer = threading.Thread(target=produce, name="tunebench-batches", daemon=True)
    producer.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while producer.is_alive():  # unblock its put: it sees `stop` after it
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        producer.join()


class CachedBatches:
    """(images, labels) batches of a cached split, on `device`, ready for the model. An epoch draws its order
    (shuffled) and each batch's augmentation from the seeded generators in batch order, so a seed gives the same
    batches with and without the producer (`prefetch`: ready batches kept ahead on CPU; 0: prepared in the loop)."""

    def __init__(self, split: CachedSplit, *, batch_size: int, shuffle: bool, seed: int, device: torch.device,
                 augment: str = "none", stats: tuple | None = None, prefetch: int = PREFETCH) -> None:
        self.split, self.batch_size, self.shuffle, self.device = split, batch_size, shuffle, device
        self.augment, self.stats, self.prefetch = augment, stats, prefetch
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

    def _prepare(self, images: torch.Tensor, labels: torch.Tensor, workspace: dict | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convert, augment, normalise. With a `workspace` (CPU), the float copy an augmentation reads and the
        augmentation's intermediates reuse the previous batch's memory (see augment.scratch)."""
        images = images.to(self.device, non_blocking=True)
        if self.augment != "none":
            floats = scratch(workspace, "floats", images.shape, torch.float32, images.device)
            images = augment_batch(floats.copy_(images).mul_(1 / 255), self.augment, self.augment_generator,
                                   workspace)  # F.to_dtype(scale=True)'s conversion, into kept memory
        else:
            images = F.to_dtype(images, torch.float32, scale=True)
        if self.stats:
            images = F.normalize(images, *self.stats, inplace=True)
        return images, labels.to(self.device, non_blocking=True)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.device.type == "cpu" and self.prefetch > 0:
            return prefetched(self._batches(), self.prefetch)
        return self._batches()

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's batches, each prepared when asked for, the next one gathered meanwhile in a thread."""
        count = len(self.split.labels)
        order = torch.randperm(count, generator=self.order_generator) if self.shuffle else torch.arange(count)
        batches = [order[i:i + self.batch_size].numpy() for i in range(0, count, self.batch_size)]
        if not batches:
            return
        workspace = {} if self.device.type == "cpu" else None  # CUDA's caching allocator reuses memory itself
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunebench-reader") as reader:
            pending = reader.submit(self._gather, batches[0])
            for following in [*batches[1:], None]:
                images, labels = pending.result()
                if following is not None:
                    pending = reader.submit(self._gather, following)
                yield self._prepare(images, labels, workspace)


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

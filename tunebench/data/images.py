"""Reading image files: every image as RGB, unreadable ones found up front and reported, not fatal."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from tunebench.console import Progress
from tunebench.data.checked import CheckedImages

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")

Sample = tuple[str | int, int]  # (image path, class index), or (row of ImageSplits.pixels, class index)


@dataclass
class ImageSplits:
    """A dataset's train / val / test samples, its class names, and the files that were skipped."""

    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    split_source: str = ""
    pixels: np.ndarray | None = None  # (N, H, W, 3) uint8 for datasets held in memory (CIFAR); samples index it
    name: str = ""  # the dataset's registry name (build_dataset sets it)

    def open(self, key: str | int, min_side: int | None = None) -> Image.Image:
        """A sample's image as RGB: a row of `pixels`, or a file decoded with load_rgb."""
        if isinstance(key, str):
            return load_rgb(key, min_side)
        return Image.fromarray(self.pixels[key])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def is_image_file(path: str | os.PathLike) -> bool:
    """A visible file whose extension is one of IMAGE_SUFFIXES (by its name alone)."""
    name = os.path.basename(path)
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def files_in(folder: str | os.PathLike) -> list[str]:
    """The paths of the files directly in `folder` (links to files too), sorted. The folder's listing says which
    entries are files, so there is no stat per file (Path.is_file() is one)."""
    with os.scandir(folder) as entries:
        return sorted(entry.path for entry in entries if entry.is_file())


def load_rgb(path: str, min_side: int | None = None) -> Image.Image:
    """Decode an image as RGB (grayscale, palette, CMYK and RGBA are converted).

    With `min_side`, JPEGs are decoded at the smallest 1/2, 1/4 or 1/8 scale whose sides are still at
    least `min_side`: the same picture at a fraction of the cost when the model wants small images.
    """
    with Image.open(path) as image:
        if min_side:
            image.draft("RGB", (min_side, min_side))
        if image.mode.startswith("I"):  # 16/32-bit greyscale: scale to 8 bits (convert() would clip at 255)
            pixels = np.asarray(image)
            image = Image.fromarray((pixels >> 8 if pixels.max() > 255 else pixels).astype(np.uint8))
        return image.convert("RGB")


# Threads, not processes: on 2 cores, 2 processes (fork, chunks of 64) checked warm files no faster than 2-4 threads
# (about 1,750 vs 1,750-1,850 images/s), and on files not in the page cache more threads overlap the reads (2: ~1,300,
# 4: ~1,400, 8: ~1,750 images/s). benchmarks/scale_start.py times the whole check.
CHECK_THREADS = min(8, (os.cpu_count() or 1) * 2)
ZERO_TAIL = 16  # bytes of zeros after the last data; a whole JPEG ends with its FF D9 marker before any padding


def _zero_filled_tail(path: str) -> bool:
    """A JPEG ending in a run of zero bytes with no end-of-image marker before it: an interrupted download
    into a preallocated file. PIL decodes it without complaint (the lost half comes out grey)."""
    with open(path, "rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - 65536))
        tail = file.read()
    stripped = tail.rstrip(b"\x00")
    return len(tail) - len(stripped) >= ZERO_TAIL and not stripped.endswith(b"\xff\xd9")


def _problem(path: str) -> str | None:
    try:
        with Image.open(path) as image:
            image.draft("RGB", (8, 8))  # decode at 1/8 scale: reads every byte, a fraction of the work
            image.load()
            jpeg = image.format == "JPEG"
    except Exception as exc:  # PIL raises many types for broken files; any of them means: skip it
        return f"{type(exc).__name__}: {exc}"
    if jpeg and _zero_filled_tail(path):
        return "truncated: the end of the file is zeros and has no JPEG end marker"
    return None


QUEUED_PER_THREAD = 4  # items handed to the pool ahead of the results read: enough to keep every thread busy


def map_images(function: Callable, items: Iterable, what: str, show: bool = False, threads: int | None = None) -> list:
    """function over items in threads (PIL releases the GIL while decoding), in order; with `show`, a Progress bar
    named `what` with rate and ETA (of len(items)), and its closing line. Only QUEUED_PER_THREAD items per thread
    wait in the pool at a time, so its bookkeeping does not grow with the number of items (a queued future is about
    1.6 KB: 40 MB for 25,000 images queued at once). A stop (Ctrl-C, SIGTERM) cancels the queued items."""
    workers = threads or os.cpu_count() or 1
    results = []
    queued: deque = deque()
    pool = ThreadPoolExecutor(max_workers=workers)
    bar = Progress(what, len(items)) if show else None

    def take() -> None:
        results.append(queued.popleft().result())
        if bar:
            bar.update()
    try:
        for item in items:
            if len(queued) >= workers * QUEUED_PER_THREAD:
                take()
            queued.append(pool.submit(function, item))
        while queued:
            take()
    except BaseException:  # Ctrl-C, SIGTERM: stop now, not after every queued image
        pool.shutdown(wait=False, cancel_futures=True)
        if bar:
            bar.close(finished=False)
        raise
    pool.shutdown()
    if bar:
        bar.close()
    return results


def find_unreadable(paths: Sequence[str], progress: Callable[[str], None] | None = None,
                    name: str = "") -> dict[str, str]:
    """{path: reason} for the files that cannot be read, in the order of `paths`. Each file is decoded once and its
    verdict remembered (data.checked): a file checked before, with the same size and modification time, is not
    decoded again. With `progress`, a line says how many images of `name` (a dataset) need checking, and a
    Progress bar follows."""
    memory = CheckedImages()
    problems, todo = memory.recall(paths)
    of = f" of {name}" if name else ""
    if progress and todo:
        before = len(paths) - len(todo)
        progress(f"checking {len(todo)} images{of}" + (f" ({before} more checked before)" if before else ""))
    elif progress and paths:
        progress(f"{len(paths)} images{of}: checked before")
    found: dict[str, str | None] = {}

    def check(path: str) -> None:
        found[path] = _problem(path)

    try:
        map_images(check, list(todo), f"checking {name or 'images'}", bool(progress and todo), threads=CHECK_THREADS)
    finally:  # also when stopped: what was checked need not be checked again
        if found:
            memory.remember((path, todo[path], problem) for path, problem in list(found.items())
                            if todo[path] is not None)
    problems.update((path, problem) for path, problem in found.items() if problem)
    return {path: problems[path] for path in paths if path in problems} if problems else {}

"""Reading image files: every image as RGB, unreadable ones found up front and reported, not fatal."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from tunebench.console import Progress
from tunebench.data.checked import CheckedImages, stamps

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


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


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


def map_images(function: Callable, items: Sequence, what: str, show: bool = False, threads: int | None = None) -> list:
    """function over items in threads (PIL releases the GIL while decoding), in order; with `show`, a Progress bar
    named `what` with rate and ETA, and its closing line. A stop (Ctrl-C, SIGTERM) cancels the queued items."""
    results = []
    pool = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1)
    bar = Progress(what, len(items)) if show else None
    try:
        for result in pool.map(function, items):
            results.append(result)
            if bar:
                bar.update()
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
    """{path: reason} for the files that cannot be read. Each file is decoded once and its verdict remembered
    (data.checked): a file checked before, with the same size and modification time, is not decoded again. With
    `progress`, a line says how many images of `name` (a dataset) need checking, and a Progress bar follows."""
    stamped = stamps(paths)
    memory = CheckedImages()
    verdicts: dict[str, str | None] = memory.recall(stamped)
    todo = [path for path in paths if path not in verdicts]
    of = f" of {name}" if name else ""
    if progress and todo:
        before = f" ({len(verdicts)} more checked before)" if verdicts else ""
        progress(f"checking {len(todo)} images{of}{before}")
    elif progress and paths:
        progress(f"{len(paths)} images{of}: checked before")
    found: dict[str, str | None] = {}

    def check(path: str) -> None:
        found[path] = _problem(path)

    try:
        map_images(check, todo, f"checking {name or 'images'}", bool(progress and todo), threads=CHECK_THREADS)
    finally:  # also when stopped: what was checked need not be checked again
        memory.remember({path: (stamped[path], problem) for path, problem in list(found.items()) if path in stamped})
    verdicts.update(found)
    return {path: verdicts[path] for path in paths if verdicts[path]}

"""The decoded-image cache: each split decoded and resized once, then read by every trial on the node.

A split's images go through the deterministic part of their transform (decode, resize, centre crop, grayscale)
once and are stored as uint8 (N, C, H, W) in a .npy file, which trials memory-map: the page cache holds one
copy per node however many trials (and executions) read it. Augmentation and normalisation follow on whole
batches on the training device (tunebench.data.batches).

The file is named by dataset, split, size, resize mode and colour, plus a hash of the samples (paths with
their sizes and modification times, or the pixels of an in-memory dataset), so a changed image or size builds
a new file. A file lock makes one trial build it while the others wait; a sidecar .json written last holds
the labels and a CRC32 of the pixels. The CRC is checked when a process opens a file that no process has checked
since it last changed: a torn or corrupt file is rebuilt, with a warning. A check that passes records the file's
size, modification time and inode in the sidecar (as data.checked remembers images), so later trials and searches
open the file without reading all of it (at 224 px, 25,000 images are 3.8 GB: 2 s of CRC per process).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

from tunebench import TunebenchError
from tunebench.data.checked import cache_root
from tunebench.data.images import ImageSplits, map_images
from tunebench.data.transforms import cached_transform, resize_side

VERSION = 1
FINGERPRINT_CHUNK = 1024
SETTLED_NS = 2 * 10**9  # a file modified this long ago: a later change shows as a new modification time
_verified: dict[tuple, "CachedSplit"] = {}  # per process: files already checked, by path, inodes and mtimes


@dataclass(frozen=True)
class CachedSplit:
    images: np.ndarray   # (N, C, H, W) uint8, memory-mapped read-only
    labels: np.ndarray   # (N,) int64
    path: Path
    built: bool = False  # whether this call decoded the images (False: it read an existing file)


def _line(key: str | int, label: int) -> str:
    if isinstance(key, str):
        stat = os.stat(key)
        return f"{key}|{stat.st_size}|{stat.st_mtime_ns}|{label}\n"
    return f"{key}|{label}\n"


def _fingerprint(splits: ImageSplits, part: str) -> str:
    """A hash of the split's samples: each path with its size, modification time and label (or each row of an
    in-memory dataset, and its pixels). Hashed FINGERPRINT_CHUNK samples at a time: the same hash as one sample at
    a time, a fraction of the calls."""
    digest = hashlib.sha1(str(VERSION).encode())
    samples = getattr(splits, part)
    for start in range(0, len(samples), FINGERPRINT_CHUNK):
        digest.update("".join(_line(key, label) for key, label in samples[start:start + FINGERPRINT_CHUNK]).encode())
    if splits.pixels is not None and samples:
        digest.update(np.ascontiguousarray(splits.pixels[[k for k, _ in samples]]).data)
    return digest.hexdigest()[:16]


def cache_path(splits: ImageSplits, part: str, image_size: int, resize: str = "crop", color: str = "rgb") -> Path:
    name = f"{part}-{image_size}px-{resize}-{color}-{_fingerprint(splits, part)}.npy"
    return cache_root() / "images" / (splits.name or "images") / name


def open_split(splits: ImageSplits, part: str, *, image_size: int, resize: str = "crop", color: str = "rgb",
               progress: Callable[[str], None] | None = None) -> CachedSplit:
    """The cached split, built first if this node has no valid copy (one builder at a time per file)."""
    path = cache_path(splits, part, image_size, resize, color)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock"):
            cached = _load(path)
            if cached is not None:
                return cached
            _build(path, splits, part, image_size, resize, color, progress)
            cached = _load(path, built=True)
    except OSError as exc:  # no space, no permission, a file where the folder should be
        size = len(getattr(splits, part)) * (1 if color == "grayscale" else 3) * image_size ** 2 / 2**30
        raise TunebenchError(f"cannot write the image cache in {path.parent} ({exc.strerror or exc}; the {part} "
                             f"split needs {size:.1f} GiB): set TUNEBENCH_CACHE to a folder with room, or use "
                             f"--data-pipeline naive") from None
    if cached is None:
        raise RuntimeError(f"image cache {path} was built but cannot be read back")
    return CachedSplit(cached.images, cached.labels, path, built=True)


def _meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _load(path: Path, built: bool = False) -> CachedSplit | None:
    """The valid cache file at `path`, or None (missing, or corrupt: then it is removed). `built`: this process has
    just written it and taken its CRC, so its pixels are not read again."""
    stats = [_stat(path), _stat(_meta_path(path))]
    if stats == [None, None]:
        return None
    key = (str(path), *((s.st_ino, s.st_mtime_ns) if s else None for s in stats))
    if key in _verified:
        return _verified[key]
    try:
        meta = json.loads(_meta_path(path).read_text())
        images = np.load(path, mmap_mode="r")
        if meta["version"] != VERSION or list(images.shape) != meta["shape"] or images.dtype != np.uint8:
            raise ValueError(f"shape {images.shape} {images.dtype}, expected {meta['shape']} uint8")
        if not built and meta.get("checked") != _stamp(stats[0]):
            if zlib.crc32(memoryview(images.reshape(-1))) != meta["crc32"]:
                raise ValueError("pixel checksum does not match")
            _record_check(path, meta, stats[0])
        labels = np.asarray(meta["labels"], dtype=np.int64)
    except Exception as exc:  # missing sidecar, torn header, truncated or changed pixels: all mean rebuild
        warnings.warn(f"image cache {path} is unusable ({type(exc).__name__}: {exc}); rebuilding it")
        for stale in (path, _meta_path(path)):
            stale.unlink(missing_ok=True)
        return None
    key = (str(path), *((s.st_ino, s.st_mtime_ns) if s else None for s in (stats[0], _stat(_meta_path(path)))))
    _verified[key] = CachedSplit(images, labels, path)
    return _verified[key]


def _stat(file: Path) -> os.stat_result | None:
    try:
        return os.stat(file)
    except OSError:
        return None


def _stamp(stat: os.stat_result) -> list[int]:
    """What identifies a version of the cache file: size, modification time (ns) and inode."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def _record_check(path: Path, meta: dict, stat: os.stat_result) -> None:
    """Note in the sidecar that the file, as `stat` found it, passed its CRC check: later opens skip the check
    while the file keeps that size, modification time and inode. Only for a file last modified SETTLED_NS ago
    (within a timestamp's granularity a later write could leave the same time); best effort (a read-only cache
    is checked on every open)."""
    if time.time_ns() - stat.st_mtime_ns < SETTLED_NS:
        return
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.json")
    try:
        tmp.write_text(json.dumps({**meta, "checked": _stamp(stat)}))
        os.replace(tmp, _meta_path(path))
    except OSError:
        tmp.unlink(missing_ok=True)


def _reserve(file: Path) -> None:
    """Allocate the file's blocks now: a full disk is an OSError here, not a SIGBUS when a page is written."""
    if hasattr(os, "posix_fallocate"):
        with open(file, "r+b") as handle:
            try:
                os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # a filesystem without it: write lazily
                    raise


def _build(path: Path, splits: ImageSplits, part: str, image_size: int, resize: str, color: str,
           progress: Callable[[str], None] | None) -> None:
    samples = getattr(splits, part)
    transform = cached_transform(image_size, resize, color)
    channels = 1 if color == "grayscale" else 3
    started = time.perf_counter()
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    try:
        images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                           shape=(len(samples), channels, image_size, image_size))
        _reserve(tmp)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    min_side = resize_side(image_size)

    def decode(index: int) -> None:
        key = samples[index][0]
        try:
            images[index] = transform(splits.open(key, min_side)).numpy()
        except Exception as exc:  # found readable when the dataset was scanned; changed since
            warnings.warn(f"{key}: cannot be read ({type(exc).__name__}: {exc}); cached as a black image")
            images[index] = 0

    what = f"caching {splits.name or 'images'} {part} at {image_size} px" + (f" ({color})" if color != "rgb" else "")
    if progress:
        progress(f"{what}: {len(samples)} images into {path.parent}")
    map_images(decode, range(len(samples)), what, show=progress is not None)
    images.flush()
    meta = {"version": VERSION, "shape": list(images.shape), "crc32": zlib.crc32(memoryview(images.reshape(-1))),
            "labels": [int(label) for _, label in samples], "dataset": splits.name, "part": part,
            "image_size": image_size, "resize": resize, "color": color,
            "build_seconds": round(time.perf_counter() - started, 2)}
    os.replace(tmp, path)
    tmp_meta = _meta_path(tmp)
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, _meta_path(path))  # written last: a file without it was never finished

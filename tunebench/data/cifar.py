"""CIFAR-10 from its original python pickles (`cifar-10-batches-py/data_batch_1..5`, `test_batch`, `batches.meta`).

Each batch is a dict with bytes keys: `b'data'` (N, 3072) uint8 rows holding the red, green and blue 32x32
planes one after the other, `b'labels'`, and (not always) `b'filenames'`. The images are decoded once into
`ImageSplits.pixels` (N, 32, 32, 3) and the samples are `(row, label)`. `test_batch` is the test split; 10% of
the training batches, stratified, is the validation split. "cifar5" is the report's five-class subset.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tunebench import TunebenchError
from tunebench.data.download import DatasetNotFound, torchvision_download
from tunebench.data.images import ImageSplits
from tunebench.data.registry import DATASETS
from tunebench.data.splits import SPLIT_SEED, limited, stratified_split

FOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
CIFAR5_CLASSES = ("dog", "frog", "horse", "ship", "truck")  # report 000, relabelled 0..4 in this order
VAL_FRACTION = 0.1


def find_folder(data_dir: Path) -> Path | None:
    """data_dir/cifar-10-batches-py, or data_dir itself when it holds the batches."""
    for candidate in (data_dir / FOLDER, data_dir):
        if (candidate / TRAIN_BATCHES[0]).is_file() or (candidate / META).is_file():
            return candidate
    return None


def download(data_dir: Path) -> None:
    """Fetch and unpack cifar-10-python.tar.gz into data_dir (needs internet)."""
    torchvision_download("CIFAR10", data_dir, "CIFAR-10",
                         f"download {URL} and unpack it into {data_dir} (it holds {FOLDER}/)")


def _get(batch: dict, key: str) -> Any:
    """A batch entry under its bytes key (original pickles) or str key (re-pickled copies)."""
    return batch[key.encode()] if key.encode() in batch else batch.get(key)


def read_pickle(path: Path) -> dict:
    """One batch file as a dict; a missing, truncated or foreign file is a one-line error naming it."""
    if not path.is_file():
        raise TunebenchError(f"CIFAR-10 file {path} is missing (unpack {URL} again)")
    try:
        with path.open("rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except Exception as exc:  # UnpicklingError, EOFError, ValueError...: the file is damaged
        raise TunebenchError(f"CIFAR-10 file {path} is corrupt ({type(exc).__name__}: {exc}); "
                             f"unpack {URL} again") from None
    if not isinstance(batch, dict):
        raise TunebenchError(f"CIFAR-10 file {path} is not a CIFAR batch (a {type(batch).__name__}, not a dict)")
    return batch


def read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32, 3) uint8, labels (N,)) of one data batch."""
    batch = read_pickle(path)
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if data is None or labels is None:
        raise TunebenchError(f"CIFAR-10 file {path} has no 'data' or 'labels' entry")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise TunebenchError(f"CIFAR-10 file {path} holds data of shape {data.shape} ({data.dtype}) and "
                             f"{len(labels)} labels; expected (N, 3072) uint8 and N labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise TunebenchError(f"CIFAR-10 file {path} has labels outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_label_names(folder: Path) -> list[str]:
    names = _get(read_pickle(folder / META), "label_names")
    if not names:
        raise TunebenchError(f"CIFAR-10 file {folder / META} has no 'label_names' entry")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _compact(splits: ImageSplits) -> ImageSplits:
    """Keep only the pixel rows the samples use (in order), renumbering the samples to match."""
    parts = (splits.train, splits.val, splits.test)
    used = sorted({row for part in parts for row, _ in part})
    if len(used) == len(splits.pixels):
        return splits
    new_row = {row: i for i, row in enumerate(used)}
    train, val, test = ([(new_row[row], label) for row, label in part] for part in parts)
    return replace(splits, train=train, val=val, test=test, pixels=np.ascontiguousarray(splits.pixels[used]))


def load_cifar(data_dir: Path, *, classes: Sequence[str] | None, limit_per_class: int | None,
               download_missing: bool, progress: Callable[[str], None] | None) -> ImageSplits:
    """CIFAR-10, or the subset of `classes` relabelled 0..len(classes)-1 in that order."""
    folder = find_folder(data_dir)
    if folder is None and download_missing:
        if progress:
            progress(f"downloading CIFAR-10 into {data_dir}")
        download(data_dir)
        folder = find_folder(data_dir)
    if folder is None:
        raise DatasetNotFound(f"CIFAR-10 not found in {data_dir}: expected {data_dir}/{FOLDER}/data_batch_1..5",
                              f"pass --download to fetch it, or unpack {URL} there")

    names = read_label_names(folder)
    if progress:
        progress(f"reading CIFAR-10 batches in {folder}")
    batches = [read_batch(folder / name, len(names)) for name in (*TRAIN_BATCHES, TEST_BATCH)]
    labels = np.concatenate([b[1] for b in batches])
    num_train = sum(len(b[1]) for b in batches[:-1])
    is_test = np.arange(len(labels)) >= num_train

    if classes is None:
        classes, keep, new_label = list(names), np.ones(len(labels), bool), np.arange(len(names))
    else:
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise TunebenchError(f"{folder / META} names no class {unknown[0]!r} (its classes: {', '.join(names)})")
        classes = list(classes)
        new_label = np.full(len(names), -1)
        new_label[[names.index(c) for c in classes]] = np.arange(len(classes))
        keep = new_label[labels] >= 0
    # one array of the kept rows only, the train batches then the test batch
    ends = np.cumsum([len(b[1]) for b in batches])
    pixels = np.concatenate([images[keep[end - len(images):end]] for (images, _), end in zip(batches, ends)])
    del batches  # the decoded batches are copied into pixels: free them before building the samples
    kept_labels, kept_test = new_label[labels[keep]], is_test[keep]
    samples = [(int(row), int(label)) for row, label in enumerate(kept_labels)]
    pool = [s for s, t in zip(samples, kept_test) if not t]
    test = [s for s, t in zip(samples, kept_test) if t]
    train, val = stratified_split(pool, VAL_FRACTION, SPLIT_SEED)
    source = f"{TEST_BATCH} as test; 10% of data_batch_1..5 as val, stratified (seed {SPLIT_SEED})"
    return _compact(limited(ImageSplits(classes, train, val, test, [], source, pixels=pixels), limit_per_class))


@DATASETS.register("cifar10", downloads=True)
def cifar10(data_dir: Path, *, limit_per_class: int | None = None, download_missing: bool = False,
            progress: Callable[[str], None] | None = None) -> ImageSplits:
    return load_cifar(data_dir, classes=None, limit_per_class=limit_per_class,
                      download_missing=download_missing, progress=progress)


@DATASETS.register("cifar5", downloads=True)
def cifar5(data_dir: Path, *, limit_per_class: int | None = None, download_missing: bool = False,
           progress: Callable[[str], None] | None = None) -> ImageSplits:
    return load_cifar(data_dir, classes=CIFAR5_CLASSES, limit_per_class=limit_per_class,
                      download_missing=download_missing, progress=progress)

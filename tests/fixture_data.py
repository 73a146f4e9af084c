"""Tiny datasets written in their real on-disk formats: Best Artworks, CIFAR-10 pickles, Dogs vs Cats.

Every class has its own colour plus noise, so a small CNN learns them in an epoch or two. Each tree carries
the oddities of the real archive (a truncated JPEG, grayscale and CMYK files, stray non-image files, the
mojibake folder name of Albrecht Dürer). The odd files are named in the *_ODD dicts, relative to the root.
"""

from __future__ import annotations

import colorsys
import csv
import pickle
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image

ARTISTS_CSV = Path(__file__).resolve().parent / "data" / "artists.csv"  # byte copy of the real Kaggle file
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_CIFAR = SHARED_DATA / "cifar-10-batches-py"
SHARED_DOGS_VS_CATS = SHARED_DATA / "dogs-vs-cats"

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
DOGS_VS_CATS_COLOURS = {"cat": (200, 120, 60), "dog": (60, 110, 200)}


def picture(colour: tuple[int, int, int], seed: int, size: tuple[int, int] = (48, 40), noise: int = 30) -> Image.Image:
    """An RGB image (width, height) of one colour with uniform noise of +-noise per channel."""
    rng = np.random.default_rng(seed)
    base = np.array(colour, dtype=np.int16)
    pixels = base + rng.integers(-noise, noise + 1, size=(size[1], size[0], 3), dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def truncate(path: Path) -> None:
    """Cut a file to half its size, as an interrupted download or unzip leaves it."""
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _colours(n: int) -> list[tuple[int, int, int]]:
    """n distinct colours: hues around the circle, alternating saturation and brightness."""
    colours = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb(i / n, (1.0, 0.55)[i % 2], (0.95, 0.6, 0.8)[i % 3])
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


# --- Best Artworks of All Time -------------------------------------------------------------------------------

def painters() -> list[str]:
    """The 50 painter names of the real artists.csv, sorted (the loader's class names)."""
    with ARTISTS_CSV.open(encoding="utf-8", newline="") as f:
        return sorted(row["name"] for row in csv.DictReader(f))


def painter_folder(name: str) -> str:
    """The folder name the real archive uses: underscores, and the NFD UTF-8 bytes of "ü" read as cp437."""
    folder = name.replace(" ", "_")
    if folder.isascii():
        return folder
    return unicodedata.normalize("NFD", folder).encode("utf-8").decode("cp437")


DURER_FOLDER = painter_folder("Albrecht Dürer")  # 'Albrecht_Du╠êrer'
ARTWORKS_ODD = {
    "corrupt": Path("images/images/Vincent_van_Gogh/Vincent_van_Gogh_900.jpg"),
    "grayscale": Path("images/images/Pablo_Picasso/Pablo_Picasso_901.jpg"),
    "stray": Path("images/images/Edgar_Degas/notes.txt"),
    "hidden": Path("images/images/.DS_Store"),
    "resized": Path("resized/resized/Albrecht_Dürer_1.jpg"),
}


def build_artworks_tree(root: Path, images_per_painter: int = 4) -> Path:
    """artists.csv and images/images/<Painter_Name>/<Painter_Name>_N.jpg for all 50 painters; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "artists.csv").write_bytes(ARTISTS_CSV.read_bytes())
    images = root / "images" / "images"
    for p, (name, colour) in enumerate(zip(painters(), _colours(50))):
        folder = images / painter_folder(name)
        folder.mkdir(parents=True)
        for i in range(1, images_per_painter + 1):
            size = (40 + (i * 7) % 24, 40 + (i * 5) % 16)
            picture(colour, p * 1000 + i, size).save(folder / f"{folder.name}_{i}.jpg", quality=90)
    colour = dict(zip(painters(), _colours(50)))
    picture(colour["Vincent van Gogh"], 900).save(root / ARTWORKS_ODD["corrupt"], quality=90)
    truncate(root / ARTWORKS_ODD["corrupt"])
    picture(colour["Pablo Picasso"], 901).convert("L").save(root / ARTWORKS_ODD["grayscale"], format="JPEG")
    (root / ARTWORKS_ODD["stray"]).write_text("not an image\n")
    (root / ARTWORKS_ODD["hidden"]).write_bytes(b"\0\0\0\1Bud1")
    (root / ARTWORKS_ODD["resized"]).parent.mkdir(parents=True)
    picture(colour["Albrecht Dürer"], 902, (20, 20)).save(root / ARTWORKS_ODD["resized"])
    return root


# --- CIFAR-10 python pickles ---------------------------------------------------------------------------------

CIFAR_COLOURS = _colours(10)


def _cifar_batch(label_name: bytes, count: int, seed: int, filenames: bool) -> dict:
    rng = np.random.default_rng(seed)
    labels = [int(y) for y in rng.permutation(np.arange(count) % 10)]  # every class present when count >= 10
    data = np.empty((count, 3072), dtype=np.uint8)
    for row, label in enumerate(labels):
        image = np.asarray(picture(CIFAR_COLOURS[label], seed * 100_000 + row, (32, 32)))
        data[row] = image.transpose(2, 0, 1).reshape(3072)  # channel-planar: all red, then green, then blue
    batch = {b"batch_label": label_name, b"labels": labels, b"data": data}
    if filenames:
        batch[b"filenames"] = [f"{CIFAR_CLASSES[y]}_s_{seed:02d}{row:04d}.png".encode() for row, y in enumerate(labels)]
    return batch


def build_cifar_batches(root: Path, per_batch: int = 60, test: int = 60, filenames: bool = True) -> Path:
    """cifar-10-batches-py with data_batch_1..5, test_batch and batches.meta as pickled by the original."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {f"data_batch_{i}": (f"training batch {i} of 5".encode(), per_batch, i) for i in range(1, 6)}
    batches["test_batch"] = (b"testing batch 1 of 1", test, 6)
    for name, (label_name, count, seed) in batches.items():
        with (folder / name).open("wb") as f:
            pickle.dump(_cifar_batch(label_name, count, seed, filenames), f, protocol=2)
    meta = {b"num_cases_per_batch": per_batch, b"label_names": [c.encode() for c in CIFAR_CLASSES], b"num_vis": 3072}
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump(meta, f, protocol=2)
    return folder


def read_cifar_batch(path: Path) -> dict:
    with path.open("rb") as f:
        return pickle.load(f, encoding="bytes")


# --- Dogs vs Cats ---------------------------------------------------------------------------------------------

DOGS_VS_CATS_ODD = {
    "corrupt": Path("train/cat.666.jpg"),  # one of the three files the report found broken in the real set
    "grayscale": Path("train/dog.1.jpg"),
    "cmyk": Path("train/dog.2.jpg"),
    "unlabelled": Path("test1/1.jpg"),
}


def build_dogs_vs_cats(root: Path, per_class: int = 20) -> Path:
    """train/cat.N.jpg and train/dog.N.jpg (N < per_class, varying sizes), a truncated cat.666.jpg, test1/1.jpg.

    Every class has `per_class` readable images; dog.1 is grayscale and dog.2 CMYK (per_class >= 3). Returns root.
    """
    train = root / "train"
    train.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for c, (name, colour) in enumerate(DOGS_VS_CATS_COLOURS.items()):
        for i in range(per_class):
            size = (int(rng.integers(40, 97)), int(rng.integers(36, 81)))
            picture(colour, c * 10_000 + i, size).save(train / f"{name}.{i}.jpg", quality=90)
    picture(DOGS_VS_CATS_COLOURS["dog"], 10_001).convert("L").save(root / DOGS_VS_CATS_ODD["grayscale"])
    picture(DOGS_VS_CATS_COLOURS["dog"], 10_002).convert("CMYK").save(root / DOGS_VS_CATS_ODD["cmyk"])
    picture(DOGS_VS_CATS_COLOURS["cat"], 666).save(root / DOGS_VS_CATS_ODD["corrupt"], quality=90)
    truncate(root / DOGS_VS_CATS_ODD["corrupt"])
    (root / "test1").mkdir()
    picture((128, 128, 128), 1).save(root / DOGS_VS_CATS_ODD["unlabelled"])
    return root


# --- any dataset ------------------------------------------------------------------------------------------------

def all_samples(splits) -> list:
    """Every sample of an ImageSplits: train, then val, then test."""
    return splits.train + splits.val + splits.test


def build_keras_cats_and_dogs(root: Path, per_label: int, in_train: int = 10) -> Path:
    """Real Dogs vs Cats images of ../shared/data laid out as Keras' flow_from_directory reads them:
    root/train/{cats,dogs}/ (the first `in_train` of each label) and root/validation/{cats,dogs}/ (the rest)."""
    import shutil

    for label in ("cat", "dog"):
        images = sorted((SHARED_DOGS_VS_CATS / "train").glob(f"{label}.*.jpg"))[:per_label]
        for part, chosen in (("train", images[:in_train]), ("validation", images[in_train:])):
            (root / part / f"{label}s").mkdir(parents=True, exist_ok=True)
            for image in chosen:
                shutil.copy(image, root / part / f"{label}s" / image.name)
    return root


def at_once(target, *args, processes: int = 2) -> list:
    """`target(*args, barrier, results)` in `processes` fresh (spawned) processes that the barrier releases together,
    as concurrent trials or searches on one machine are; what each put in `results`."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=target, args=(*args, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    found = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return found

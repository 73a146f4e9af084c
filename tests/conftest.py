"""Fixtures: a real local Ray, real SQLite MLflow stores, and Caltech101 trees of real image files."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_CALTECH = SHARED_DATA / "caltech101"

# Three classes with a colour each, so a model can learn them in an epoch or two.
CLASS_COLOURS = {"Faces": (200, 40, 40), "airplanes": (40, 200, 40), "ant": (40, 40, 200)}
IMAGES_PER_CLASS = 9


def _picture(colour: tuple[int, int, int], seed: int, size=(48, 40)) -> Image.Image:
    rng = random.Random(seed)
    pixels = [tuple(max(0, min(255, c + rng.randint(-30, 30))) for c in colour) for _ in range(size[0] * size[1])]
    image = Image.new("RGB", size)
    image.putdata(pixels)
    return image


def build_caltech_tree(root: Path) -> dict[str, Path]:
    """101_ObjectCategories with real JPEGs and the oddities of the real archive; returns the odd files."""
    categories = root / "101_ObjectCategories"
    for c, (name, colour) in enumerate(CLASS_COLOURS.items()):
        folder = categories / name
        folder.mkdir(parents=True)
        for i in range(1, IMAGES_PER_CLASS + 1):
            _picture(colour, c * 100 + i).save(folder / f"image_{i:04d}.jpg", quality=90)
    odd = {
        "grayscale": categories / "ant" / "image_0100.jpg",
        "png_as_jpg": categories / "airplanes" / "image_0100.jpg",
        "truncated": categories / "Faces" / "image_0100.jpg",
        "stray": categories / "Faces" / "notes.txt",
    }
    _picture(CLASS_COLOURS["ant"], 999).convert("L").save(odd["grayscale"], format="JPEG")
    _picture(CLASS_COLOURS["airplanes"], 998).save(odd["png_as_jpg"], format="PNG")
    whole = categories / "Faces" / "image_0001.jpg"
    odd["truncated"].write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    odd["stray"].write_text("not an image\n")
    background = categories / "BACKGROUND_Google"
    background.mkdir()
    _picture((128, 128, 128), 1).save(background / "image_0001.jpg")
    (background / "tmp").write_text("stray file of the original archive\n")
    (categories / ".ipynb_checkpoints").mkdir()
    return odd


def free_port() -> int:
    """A TCP port nothing listens on (for servers the tests start, and for unreachable addresses)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def caltech_tree(tmp_path: Path) -> Path:
    build_caltech_tree(tmp_path / "caltech")
    return tmp_path / "caltech"


@pytest.fixture(scope="session")
def caltech_session_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("caltech")
    build_caltech_tree(root)
    return root


@pytest.fixture(scope="module")
def caltech(tmp_path_factory):
    """Caltech101 as a dataset, 2 images per class: the real JPEGs (colour and grayscale ones) when ../shared/data
    is there, else the fixture tree."""
    from tunebench.data import build_dataset

    if SHARED_CALTECH.is_dir():
        return build_dataset("caltech101", SHARED_CALTECH, limit_per_class=2)
    root = tmp_path_factory.mktemp("caltech")
    build_caltech_tree(root)
    return build_dataset("caltech101", root)


@pytest.fixture(scope="session", autouse=True)
def tunebench_cache(tmp_path_factory) -> Path:
    """Decoded images and features are cached in a temporary folder, not the user's ~/.cache (Ray's workers
    inherit the variable)."""
    os.environ["TUNEBENCH_CACHE"] = str(tmp_path_factory.mktemp("tunebench-cache"))
    return Path(os.environ["TUNEBENCH_CACHE"])


@pytest.fixture(scope="session")
def ray_local(tunebench_cache):
    """One real local Ray for the whole session (searches in-process join it)."""
    import ray

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    ray.init(num_cpus=2, include_dashboard=False, logging_config=ray.LoggingConfig(log_level="WARNING"))
    yield ray
    ray.shutdown()


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlruns.db'}"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch) -> Path:
    """Run in a temporary working directory (default stores land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path

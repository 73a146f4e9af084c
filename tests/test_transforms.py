"""The report's transforms: Resize 256 -> CenterCrop 224, its two normalisations, its three augmentations."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from tunebench.data import resolve_data_dir
from tunebench.data.transforms import image_transform
from tunebench.hparams import AUGMENTATIONS
from tunebench.settings import DataSettings


def _transform(image_size: int, normalize: str = "scratch", augment: str = "none"):
    return image_transform(DataSettings(image_size=image_size, normalize=normalize), augment)


def _image(size=(300, 200), colour=(255, 0, 0)):
    return Image.new("RGB", size, colour)


def test_resize_256_center_crop_224():
    assert _transform(224)(_image()).shape == (3, 224, 224)
    assert _transform(64)(_image()).shape == (3, 64, 64)


def test_scratch_and_imagenet_normalisations():
    red = _transform(32)(_image())
    assert torch.allclose(red[0], torch.ones(32, 32)) and torch.allclose(red[1], -torch.ones(32, 32))  # (x-0.5)/0.5
    red = _transform(32, "imagenet")(_image())
    assert red[0, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229, rel=1e-4)


@pytest.mark.parametrize("augment", AUGMENTATIONS)
def test_every_augmentation_keeps_the_shape(augment):
    torch.manual_seed(0)
    out = _transform(64, augment=augment)(_image())
    assert out.shape == (3, 64, 64) and out.dtype == torch.float32


def test_gray_pipeline_makes_equal_channels():
    torch.manual_seed(0)
    transform = _transform(32, augment="flip_rotate_perspective_gray_jitter")
    out = transform(_image(colour=(200, 30, 90)))
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[1], out[2])


def test_data_dir_from_flag_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TUNEBENCH_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(str(tmp_path / "flag")) == tmp_path / "flag"

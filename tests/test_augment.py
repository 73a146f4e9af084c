"""Batched on-device augmentation: shapes and range, label alignment, per-sample and reproducible parameters,
exactness against torch/torchvision where defined, and rough parameter distributions."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from tunebench.data import augment
from tunebench.data.augment import augment_batch
from tunebench.data.transforms import AUGMENTATIONS

RANDOM = [name for name in AUGMENTATIONS if name != "none"]
GEOMETRIC = ["flip_rotate_perspective", "rot90", "cifar"]  # no colour change: a constant image keeps its value
F64 = torch.float64


def _gen(seed=0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(b=4, c=3, h=16, w=16, seed=1) -> torch.Tensor:
    return torch.rand(b, c, h, w, generator=_gen(seed))


def _one(value: float) -> torch.Tensor:
    return torch.tensor([value], dtype=F64)


def test_every_augmentation_has_a_pipeline_and_unknown_names_raise():
    assert tuple(augment._PIPELINES) == AUGMENTATIONS
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'.*flip_rotate_perspective.*keras"):
        augment_batch(_images(), "mixup", _gen())


@pytest.mark.parametrize("name", AUGMENTATIONS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("batch", [1, 5])
def test_keeps_shape_dtype_device_and_range(name, channels, batch):
    images = _images(batch, channels)
    out = augment_batch(images, name, _gen())
    assert out.shape == images.shape and out.dtype == images.dtype and out.device == images.device
    assert out.data_ptr() != images.data_ptr()
    assert out.min() >= 0 and out.max() <= 1 and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["flip_rotate_perspective_jitter", "keras"])
def test_keeps_float64_and_non_square_images(name):
    images = _images(3, 3, 12, 20).double()
    out = augment_batch(images, name, _gen())
    assert out.shape == images.shape and out.dtype == F64 and out.min() >= 0 and out.max() <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_cuda_batch_with_cpu_generator_matches_cpu(name):
    images = _images(6, 3)
    out = augment_batch(images.cuda(), name, _gen(3))
    assert out.is_cuda and out.shape == images.shape
    assert torch.allclose(out.cpu(), augment_batch(images, name, _gen(3)), atol=1e-4)


def test_none_is_the_identity():
    images = _images()
    out = augment_batch(images, "none", _gen())
    assert torch.equal(out, images) and out is not images


def test_rot90_is_exact_and_uses_every_quarter_turn():
    images = _images(32, 3, 8, 8)
    out = augment_batch(images, "rot90", _gen())
    turns = []
    for image, result in zip(images, out):
        matches = [k for k in range(4) if torch.equal(result, torch.rot90(image, k, dims=(1, 2)))]
        assert len(matches) == 1  # exact, and of its own input (label alignment)
        turns.append(matches[0])
    assert set(turns) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="square"):
        augment_batch(_images(2, 3, 8, 10), "rot90", _gen())


def test_flips_alone_equal_torchvision_flips():
    images = _images(40, 3, 9, 14)
    out = augment._apply(images, [("hflip", {}), ("vflip", {})], _gen())
    seen = set()
    for image, result in zip(images, out):
        candidates = {"none": image, "h": TF.horizontal_flip(image), "v": TF.vertical_flip(image),
                      "hv": TF.vertical_flip(TF.horizontal_flip(image))}
        # float32 grid_sample at pixel centres: equal to ~1e-5 (a uint8 step is 4e-3)
        matches = [key for key, expected in candidates.items() if torch.allclose(result, expected, atol=1e-4)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {"none", "h", "v", "hv"}


def _smooth(h=20, w=24) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([x, y, x * y]).unsqueeze(0)


def test_geometry_matches_torchvision_bilinear_kernels():
    image, bilinear = _smooth(), InterpolationMode.BILINEAR
    affine = augment._warp(image, augment._affine(_one(12), _one(3), _one(-2), _one(1.1), _one(7)))
    expected = TF.affine(image, angle=12, translate=[3, -2], scale=1.1, shear=[7.0, 0.0], interpolation=bilinear)
    assert torch.allclose(affine, expected, atol=1e-4)
    rotated = augment._warp(image, augment._affine(_one(-25), _one(0), _one(0), _one(1), _one(0)))
    assert torch.allclose(rotated, TF.rotate(image, 25, interpolation=bilinear), atol=1e-4)
    start, end = [[0, 0], [23, 0], [23, 19], [0, 19]], [[2, 1], [21, 3], [22, 17], [1, 18]]
    centre = torch.tensor([12.0, 10.0], dtype=F64)
    homography = augment._homography(torch.tensor([start], dtype=F64) - centre, torch.tensor([end], dtype=F64) - centre)
    assert torch.allclose(augment._warp(image, homography), TF.perspective(image, start, end, bilinear), atol=1e-4)


def test_colour_ops_match_torchvision_per_sample():
    images = _images(2, 3)

    def factors(a, b):
        return torch.tensor([a, b]).view(2, 1, 1, 1)
    for op, values, reference in [("brightness", (0.7, 1.3), TF.adjust_brightness),
                                  ("contrast", (0.6, 1.4), TF.adjust_contrast),
                                  ("saturation", (0.65, 1.35), TF.adjust_saturation),
                                  ("hue", (-0.1, 0.08), TF.adjust_hue)]:
        out = augment._color(images, **{op: factors(*values)})
        for image, result, value in zip(images, out, values):
            assert torch.allclose(result, reference(image, value), atol=1e-5), op
    gray = augment_batch(images, "flip_rotate_perspective_gray_jitter", _gen())
    assert torch.allclose(gray[:, 0], gray[:, 1], atol=1e-5) and torch.allclose(gray[:, 1], gray[:, 2], atol=1e-5)
    assert torch.allclose(augment._PIXEL_OPS["gray"](images, None), TF.rgb_to_grayscale(images, 3), atol=1e-6)


@pytest.mark.parametrize("name", GEOMETRIC)
def test_samples_stay_in_order(name):
    levels = torch.linspace(0.05, 0.95, 12)
    images = levels.view(12, 1, 1, 1).expand(12, 3, 16, 16).contiguous()  # sample i is a constant grey level i
    out = augment_batch(images, name, _gen())
    assert torch.allclose(out[:, :, 7:9, 7:9], images[:, :, 7:9, 7:9], atol=1e-5)


@pytest.mark.parametrize("name", RANDOM)
def test_parameters_are_per_sample_and_reproducible(name):
    images = _images(1, 3).expand(8, 3, 16, 16).contiguous()  # eight copies of one image
    out = augment_batch(images, name, _gen(5))
    distinct = {tuple(sample.flatten().tolist()) for sample in out}
    assert len(distinct) >= (2 if name == "rot90" else 8)
    assert torch.equal(out, augment_batch(images, name, _gen(5)))
    assert not torch.equal(out, augment_batch(images, name, _gen(6)))


def test_parameter_distributions():
    n, g = 2000, _gen(7)
    tiny = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).expand(n, 1, 2, 2)
    hflipped = augment._apply(tiny, [("hflip", {})], g)[:, 0, 0, 0] > 0.5
    assert 0.35 < hflipped.float().mean() < 0.65
    vflipped = augment._apply(tiny.transpose(2, 3), [("vflip", {})], g)[:, 0, 0, 0] > 0.5
    assert 0.35 < vflipped.float().mean() < 0.65
    turned = augment._apply(torch.tensor([[1.0, 0.0], [0.0, 0.0]]).expand(n, 1, 2, 2), [("rot90", {})], g)
    corners = turned[:, 0].flatten(1).argmax(1)  # which corner the bright pixel went to: one per quarter turn
    assert all(0.15 < (corners == k).float().mean() < 0.35 for k in range(4))
    rotation = augment._rotate((n, 32, 32), g, 30)
    angles = torch.rad2deg(torch.atan2(rotation[:, 1, 0], rotation[:, 0, 0]))
    assert angles.abs().max() <= 30 and angles.abs().max() > 29 and abs(angles.mean()) < 2
    perspective = augment._perspective((n, 100, 100), g, 0.3)
    moved = ~torch.isclose(perspective, torch.eye(3, dtype=F64)).flatten(1).all(1)
    assert 0.35 < moved.float().mean() < 0.65
    affine = augment._random_affine((n, 100, 100), g, 20, 0.15, (0.7, 1.3), 0.2)
    shift, scale = affine[:, :2, 2], torch.linalg.det(affine[:, :2, :2]).sqrt()  # det = scale^2 (rotation, shear)
    assert torch.equal(shift, shift.round()) and shift.abs().max() <= 15 and shift.abs().max() >= 13
    assert 0.7 <= scale.min() < 0.72 and 1.28 < scale.max() <= 1.3
    brightness = augment._jitter(torch.full((n, 1, 1, 1), 0.5), g, brightness=(0.8, 1.2)) / 0.5
    assert 0.8 <= brightness.min() < 0.81 and 1.19 < brightness.max() <= 1.2 and abs(brightness.mean() - 1) < 0.01


def test_warp_samples_where_the_homography_says_at_224_px():
    """Each output pixel of a 224 px warp reads its source point to 1/5000 of a pixel: warping images whose
    pixels hold their own x and y gives the source coordinates the float64 inverse map says."""
    h = w = 224
    forward = augment._rotate((8, h, w), _gen(), 30) @ augment._perspective((8, h, w), _gen(1), 0.3)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=F64), torch.arange(w, dtype=F64), indexing="ij")
    coordinates = torch.stack([xs, ys]).float().expand(8, 2, h, w).contiguous()
    centres = torch.stack([xs + 0.5 - w / 2, ys + 0.5 - h / 2, torch.ones_like(xs)], -1).view(1, -1, 3)
    source = centres @ torch.linalg.inv(forward).transpose(1, 2)
    source = source[..., :2] / source[..., 2:] + torch.tensor([w / 2 - 0.5, h / 2 - 0.5], dtype=F64)
    inside = ((source >= 1) & (source <= torch.tensor([w - 2, h - 2], dtype=F64))).all(-1)  # no zero padding
    read = augment._warp(coordinates, forward).double().permute(0, 2, 3, 1).reshape(8, -1, 2)
    assert inside.float().mean() > 0.5
    assert (read - source).abs()[inside].max() < 2e-4


@pytest.mark.parametrize("name", ["flip_rotate_perspective", "keras"])
def test_a_workspace_keeps_memory_between_batches_without_changing_results(name):
    workspace = {}
    first = augment_batch(_images(6), name, _gen(1), workspace)
    kept = first.clone()
    for batch, seed in ((6, 2), (4, 3)):  # a smaller last batch computes into the front of the kept memory
        images = _images(batch, seed=seed)
        assert torch.equal(augment_batch(images, name, _gen(seed), workspace), augment_batch(images, name, _gen(seed)))
    assert workspace and torch.equal(first, kept)  # a result never shares the workspace's memory

"""The report's transforms: Resize 256 -> CenterCrop 224 -> tensor -> normalise, and its augmentations."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

SCRATCH_NORMALIZATION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
IMAGENET_NORMALIZATION = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def normalization(weights: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """ImageNet statistics for pretrained weights (the report reloaded its data for that), 0.5 otherwise."""
    return IMAGENET_NORMALIZATION if weights == "imagenet" else SCRATCH_NORMALIZATION


def resize_side(image_size: int) -> int:
    """Resize 256 before CenterCrop 224, scaled for other crop sizes."""
    return round(image_size * 256 / 224)


def _augmentation(name: str) -> list:
    """The report's three pipelines: flips + rotation + perspective, then + ColorJitter, or + Grayscale + jitter."""
    if name == "none":
        return []
    geometric = [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip(), v2.RandomRotation(30),
                 v2.RandomPerspective(distortion_scale=0.3, p=0.5)]
    jitter = v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    pipelines = {
        "flip_rotate_perspective": geometric,
        "flip_rotate_perspective_jitter": [*geometric, jitter],
        "flip_rotate_perspective_gray_jitter": [*geometric, v2.Grayscale(num_output_channels=3), jitter],
    }
    return pipelines[name]


def image_transform(image_size: int, weights: str, augment: str = "none") -> v2.Compose:
    """PIL RGB image -> normalised float tensor (3, image_size, image_size)."""
    mean, std = normalization(weights)
    return v2.Compose([
        v2.Resize(resize_side(image_size)),
        v2.CenterCrop(image_size),
        *_augmentation(augment),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ])

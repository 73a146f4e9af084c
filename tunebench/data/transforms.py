"""The reports' transforms: resizing, normalisation, colour, and their augmentation pipelines.

resize     crop:   Resize(side * 256/224) -> CenterCrop(side), report 003's Resize 256 / CenterCrop 224
           square: Resize((side, side)), as Keras' target_size and report 002's 224x224
normalize  auto:     what the model's initial weights expect (the model registry says; resolved above this
                     layer): imagenet for ImageNet weights, scratch otherwise (report 003)
           scratch:  mean and std 0.5
           imagenet: ImageNet mean/std (torchvision's pretrained weights expect them)
           cifar10:  per-channel standardisation with CIFAR-10's training-set statistics (report 001)
           unit:     pixels / 255 only (Keras' rescale=1/255, report 004)
color      rgb | grayscale (one channel, report 004)
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from tunebench.settings import DataSettings

STATISTICS = {  # (mean, std) per channel; None: pixels / 255 only
    "scratch": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "unit": None,
}

RESIZES = ("crop", "square")
NORMALIZATIONS = ("auto", *STATISTICS)
COLORS = ("rgb", "grayscale")
AUGMENTATIONS = ("none", "flip_rotate_perspective", "flip_rotate_perspective_jitter",
                 "flip_rotate_perspective_gray_jitter", "rot90", "cifar", "keras")


def normalization(normalize: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(mean, std) to normalise with, or None for pixels / 255 only."""
    if normalize not in STATISTICS:
        raise ValueError(f"normalize must be one of {tuple(STATISTICS)} here, not {normalize!r} "
                         f"('auto' is resolved from the model's weights before the data is prepared)")
    return STATISTICS[normalize]


def resize_side(image_size: int) -> int:
    """Resize 256 before CenterCrop 224, scaled for other crop sizes."""
    return round(image_size * 256 / 224)


class RandomRightAngle(v2.Transform):
    """Rotate by 0, 90, 180 or 270 degrees, chosen uniformly (report 002's rotation augmentation)."""

    def make_params(self, flat_inputs: list) -> dict:
        return {"quarter_turns": int(torch.randint(4, ()))}

    def transform(self, inpt, params: dict):
        return self._call_kernel(v2.functional.rotate, inpt, 90 * params["quarter_turns"], expand=True)


def _augmentation(name: str) -> list:
    """The reports' training augmentations (applied after resizing, before normalisation)."""
    if name == "none":
        return []
    geometric = [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip(), v2.RandomRotation(30),
                 v2.RandomPerspective(distortion_scale=0.3, p=0.5)]
    jitter = v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    pipelines = {
        # report 003: flips + rotation + perspective, then + ColorJitter, or + Grayscale + jitter
        "flip_rotate_perspective": geometric,
        "flip_rotate_perspective_jitter": [*geometric, jitter],
        "flip_rotate_perspective_gray_jitter": [*geometric, v2.Grayscale(num_output_channels=3), jitter],
        # report 002: random rotation by a multiple of 90 degrees
        "rot90": [RandomRightAngle()],
        # report 001: Keras rotation_range 15, horizontal flip, width/height shift 0.1
        "cifar": [v2.RandomAffine(degrees=15, translate=(0.1, 0.1)), v2.RandomHorizontalFlip()],
        # report 004: Keras shear 0.2 (degrees), zoom 0.3, hflip, brightness 0.8-1.2, rotation 20, shift 0.15;
        # Keras fills with the nearest pixel, torchvision with black
        "keras": [v2.RandomAffine(degrees=20, translate=(0.15, 0.15), scale=(0.7, 1.3), shear=0.2),
                  v2.RandomHorizontalFlip(), v2.ColorJitter(brightness=(0.8, 1.2))],
    }
    return pipelines[name]


def sizing(image_size: int, resize: str = "crop") -> list:
    """The deterministic resize of a PIL image to (image_size, image_size)."""
    return ([v2.Resize(resize_side(image_size)), v2.CenterCrop(image_size)] if resize == "crop"
            else [v2.Resize((image_size, image_size))])


def channel_stats(normalize: str, color: str = "rgb") -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(mean, std) per channel of the model's input (the first channel's for grayscale), or None: pixels / 255."""
    stats = normalization(normalize)
    if stats is None or color != "grayscale":
        return stats
    return stats[0][:1], stats[1][:1]


def image_transform(data: DataSettings, augment: str = "none") -> v2.Compose:
    """PIL RGB image -> float tensor (channels, image_size, image_size), channels 3 or 1 (grayscale)."""
    stats = channel_stats(data.normalize, data.color)
    return v2.Compose([
        *sizing(data.image_size, data.resize),
        *_augmentation(augment),
        *([v2.Grayscale(num_output_channels=1)] if data.color == "grayscale" else []),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        *([v2.Normalize(*stats)] if stats else []),
    ])


def cached_transform(image_size: int, resize: str = "crop", color: str = "rgb") -> v2.Compose:
    """PIL RGB image -> uint8 tensor (channels, image_size, image_size): image_transform's deterministic steps,
    done once when the decoded-image cache is built (augmentation and normalisation follow on whole batches)."""
    return v2.Compose([*sizing(image_size, resize),
                       *([v2.Grayscale(num_output_channels=1)] if color == "grayscale" else []), v2.ToImage()])


def transform_for(data: DataSettings, train: bool) -> v2.Compose:
    """A trial's transform (augmentation on the training split only)."""
    return image_transform(data, data.augment if train else "none")


def preprocessing(data: DataSettings) -> dict:
    """What a trained model expects of an image, as plain data (the MLflow model's metadata): image_transform's
    deterministic steps, with the normalisation's mean and std spelt out for code that is not tunebench's."""
    stats = channel_stats(data.normalize, data.color)
    resize = (f"shorter side to {resize_side(data.image_size)}, centre crop {data.image_size}" if data.resize == "crop"
              else f"to {data.image_size}x{data.image_size}")
    return {"image_size": data.image_size, "resize": data.resize, "color": data.color, "normalize": data.normalize,
            "mean": list(stats[0]) if stats else None, "std": list(stats[1]) if stats else None,
            "steps": f"RGB, resize {resize}{', grayscale' if data.color == 'grayscale' else ''}, pixels / 255"
                     + (", then (x - mean) / std" if stats else "")}


def preprocessing_transform(description: dict) -> v2.Compose:
    """image_transform of a model's recorded preprocessing (no augmentation)."""
    return image_transform(DataSettings(image_size=description["image_size"], resize=description["resize"],
                                        normalize=description["normalize"], color=description["color"]))

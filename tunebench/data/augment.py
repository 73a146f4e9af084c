"""Batched, on-device versions of the training augmentations in transforms.py, for the decoded-image cache.

augment_batch(images, name, generator) augments a float (B, C, H, W) batch in [0, 1] on its own device (CPU or
CUDA). Each sample gets its own parameters, drawn on CPU from `generator` with the distributions of
transforms._augmentation (torchvision v2 on a batched tensor would draw one set for the whole batch).

Differences from the per-image torchvision pipelines (which run on PIL uint8 images):
- a sample's geometric ops (flips, rotation, perspective, affine) are composed into one homography and applied by a
  single grid_sample, bilinear with zero padding: one interpolation instead of one per op, bilinear where
  RandomRotation and RandomAffine default to nearest, and content that one op moves out of the frame and a later op
  moves back in is kept instead of black; torchvision's bilinear fill also scales border pixels by its mask, we don't;
- images stay float between ops (no rounding to uint8);
- ColorJitter applies brightness, contrast, saturation, hue in this fixed order (torchvision: random order per image);
- on 1-channel images Grayscale, saturation and hue are no-ops (the output keeps its one channel);
- "rot90" needs square images (the batch keeps one shape; torchvision's expand=True would swap H and W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tunebench.data.transforms import AUGMENTATIONS

_F64 = torch.float64
_JITTER = {"brightness": (0.6, 1.4), "contrast": (0.6, 1.4), "saturation": (0.6, 1.4), "hue": (-0.1, 0.1)}
_GEOMETRIC = [("hflip", {}), ("vflip", {}), ("rotate", {"degrees": 30}), ("perspective", {"distortion": 0.3})]
_PIPELINES = {  # as transforms._augmentation: (op, its arguments), applied in order
    "none": [],
    "flip_rotate_perspective": _GEOMETRIC,
    "flip_rotate_perspective_jitter": [*_GEOMETRIC, ("jitter", _JITTER)],
    "flip_rotate_perspective_gray_jitter": [*_GEOMETRIC, ("gray", {}), ("jitter", _JITTER)],
    "rot90": [("rot90", {})],
    "cifar": [("affine", {"degrees": 15, "translate": 0.1}), ("hflip", {})],
    "keras": [("affine", {"degrees": 20, "translate": 0.15, "scale": (0.7, 1.3), "shear": 0.2}), ("hflip", {}),
              ("jitter", {"brightness": (0.8, 1.2)})],
}


def _uniform(n: int, g: torch.Generator, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g, dtype=_F64)


# Geometric ops: forward maps (n, 3, 3), float64 on CPU, in pixel coordinates centred on the image (y down),
# i.e. torchvision's affine/rotate convention.

def _affine(angle, tx, ty, scale, shear) -> torch.Tensor:
    """torchvision's affine matrix T * RotateScaleShear (shear along x only), from (n,) tensors in degrees/pixels."""
    rot, sx = torch.deg2rad(angle), torch.deg2rad(shear)
    cos, sin, tan = torch.cos(rot), torch.sin(rot), torch.tan(sx)
    m = torch.zeros(len(rot), 3, 3, dtype=_F64)
    m[:, 0, 0], m[:, 0, 1] = scale * cos, scale * (-cos * tan - sin)
    m[:, 1, 0], m[:, 1, 1] = scale * sin, scale * (-sin * tan + cos)
    m[:, 0, 2], m[:, 1, 2], m[:, 2, 2] = tx, ty, 1.0
    return m


def _homography(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """(n, 4, 2) point pairs -> the (n, 3, 3) homographies mapping src to dst (batched 8x8 solve)."""
    (x, y), (u, v) = src.unbind(-1), dst.unbind(-1)
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    rows = torch.cat([torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1),
                      torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)], 1)
    h = torch.linalg.solve(rows, torch.cat([u, v], 1))
    return torch.cat([h, torch.ones(len(h), 1, dtype=_F64)], 1).view(-1, 3, 3)


def _flip(n, g, axis: int) -> torch.Tensor:
    m = torch.eye(3, dtype=_F64).repeat(n, 1, 1)
    m[:, axis, axis] = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    return m


def _perspective(shape, g, distortion: float) -> torch.Tensor:
    """RandomPerspective(distortion, p=0.5): each corner moves inwards by up to distortion * half a side."""
    n, h, w = shape
    bh, bw = int(distortion * (h // 2)) + 1, int(distortion * (w // 2)) + 1

    def randint(low, high):
        return torch.randint(low, high, (n,), generator=g).to(_F64)
    start = torch.tensor([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=_F64).expand(n, 4, 2)
    end = torch.stack([torch.stack([randint(0, bw), randint(w - bw, w), randint(w - bw, w), randint(0, bw)], 1),
                       torch.stack([randint(0, bh), randint(0, bh), randint(h - bh, h), randint(h - bh, h)], 1)], -1)
    end = torch.where((torch.rand(n, generator=g) < 0.5).view(n, 1, 1), end, start)
    centre = torch.tensor([w / 2, h / 2], dtype=_F64)  # torchvision's corners are in pixel-edge coordinates
    return _homography(start - centre, end - centre)


def _random_affine(shape, g, degrees, translate=0.0, scale=(1.0, 1.0), shear=0.0) -> torch.Tensor:
    """RandomAffine(degrees, (translate, translate), scale, shear): whole-pixel shifts, x-shear, as torchvision."""
    n, h, w = shape
    tx, ty = (torch.round(_uniform(n, g, -translate * side, translate * side)) for side in (w, h))
    return _affine(_uniform(n, g, -degrees, degrees), tx, ty, _uniform(n, g, *scale), _uniform(n, g, -shear, shear))


def _rotate(shape, g, degrees) -> torch.Tensor:
    n = shape[0]
    zero = torch.zeros(n, dtype=_F64)  # torchvision's rotate(angle) is affine(-angle): counter-clockwise
    return _affine(-_uniform(n, g, -degrees, degrees), zero, zero, zero + 1, zero)


# Geometric ops: ((batch, height, width), generator, **arguments) -> forward maps (batch, 3, 3).
_MATRICES = {"hflip": lambda shape, g: _flip(shape[0], g, 0), "vflip": lambda shape, g: _flip(shape[0], g, 1),
             "rotate": _rotate, "perspective": _perspective, "affine": _random_affine}


def scratch(workspace: dict | None, name: str, shape: tuple, dtype: torch.dtype, device) -> torch.Tensor:
    """An uninitialised tensor to compute an intermediate into: the memory kept in `workspace[name]` when it is large
    enough (from the previous batch), else new and kept there; no workspace: new. On CPU a fresh 38 MB batch
    tensor is page-faulted in again every batch: keeping the two largest intermediates made a 224 px batch's
    preparation about a fifth faster. A workspace serves one batch at a time: one thread's."""
    if workspace is None:
        return torch.empty(shape, dtype=dtype, device=device)
    count, kept = math.prod(shape), workspace.get(name)
    if kept is None or kept.numel() < count or kept.dtype != dtype or kept.device != torch.device(device):
        kept = workspace[name] = torch.empty(count, dtype=dtype, device=device)
    return kept[:count].view(shape)


def _warp(images: torch.Tensor, forward: torch.Tensor, workspace: dict | None = None) -> torch.Tensor:
    """Warp each sample by its forward map (B, 3, 3): one bilinear grid_sample, zero padding, align_corners=False."""
    b, _, h, w = images.shape
    to_pixels = torch.diag(torch.tensor([w / 2, h / 2, 1.0], dtype=_F64))
    theta = (torch.linalg.inv(to_pixels) @ torch.linalg.inv(forward) @ to_pixels).to(images.device, images.dtype)
    xs = (torch.arange(w, device=images.device, dtype=images.dtype) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=images.device, dtype=images.dtype) * 2 + 1) / h - 1
    # theta @ (x, y, 1) at every pixel centre as planes (b, 3, h, w): a column term (b, 3, 1, w) plus a row term
    # (b, 3, h, 1). grid_sample reads the planar (b, h, w, 2) view as fast as an interleaved grid; on CPU this is a
    # tenth of the batched matmul's time
    across = theta[:, :, 0, None, None] * xs
    down = torch.addcmul(theta[:, :, 2, None, None], theta[:, :, 1, None, None], ys[:, None])
    planes = torch.add(across, down, out=scratch(workspace, "planes", (b, 3, h, w), images.dtype, images.device))
    grid = planes[:, :2].div_(planes[:, 2:]).permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


# Pixel ops: (images, generator, **arguments) -> images.

def _gray(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma (B, 1, H, W), as torchvision; a 1-channel image is its own gray."""
    return x if x.shape[1] == 1 else 0.2989 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def _hue_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """RGB -> HSV, hue += shift (B, 1, 1, 1) modulo 1, -> RGB; value v, chroma v - min (= v * saturation)."""
    r, g, b = x.unbind(1)
    low, v = torch.aminmax(x, dim=1)
    chroma = (v - low).clamp_min(1e-12)  # a gray pixel (chroma 0) has hue 0 and stays gray
    hue6 = torch.where(v == r, g - b, torch.where(v == g, b - r + 2 * chroma, r - g + 4 * chroma)) / chroma
    hue6 = (hue6 + 6 * shift[:, 0]) % 6  # hue in sixths of a turn
    k = torch.stack([(hue6 + n) % 6 for n in (5, 3, 1)], 1)
    return v.unsqueeze(1) - chroma.unsqueeze(1) * torch.minimum(k, 4 - k).clamp(0, 1)


def _color(x, brightness=None, contrast=None, saturation=None, hue=None) -> torch.Tensor:
    """ColorJitter with per-sample factors (B, 1, 1, 1) or None, in this fixed order, clamping after each op."""
    if brightness is not None:
        x = (x * brightness).clamp_(0, 1)
    if contrast is not None:  # lerp(a, x, f) = f * x + (1 - f) * a, torchvision's blend
        x = torch.lerp(_gray(x).mean((1, 2, 3), keepdim=True), x, contrast).clamp_(0, 1)
    if saturation is not None and x.shape[1] == 3:
        x = torch.lerp(_gray(x), x, saturation).clamp_(0, 1)
    if hue is not None and x.shape[1] == 3:
        x = _hue_shift(x, hue).clamp_(0, 1)
    return x


def _jitter(x, g, **ranges) -> torch.Tensor:
    factors = {op: _uniform(len(x), g, *r).to(x.device, x.dtype).view(-1, 1, 1, 1) for op, r in ranges.items()}
    return _color(x, **factors)


def _rot90(x, g) -> torch.Tensor:
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"rot90 needs square images, got {tuple(x.shape[-2:])}")
    turns, out = torch.randint(4, (len(x),), generator=g), x.clone()
    for k in (1, 2, 3):
        index = (turns == k).nonzero().squeeze(1).to(x.device)
        out[index] = torch.rot90(x[index], k, dims=(2, 3))
    return out


_PIXEL_OPS = {"gray": lambda x, g: x if x.shape[1] == 1 else _gray(x).expand_as(x).contiguous(),
              "jitter": _jitter, "rot90": _rot90}


def _apply(images: torch.Tensor, ops: list, generator: torch.Generator, workspace: dict | None = None
           ) -> torch.Tensor:
    """Apply ops in order; runs of geometric ops become one warp."""
    b, _, h, w = images.shape
    out, forward = images, None
    for op, arguments in ops:
        if op in _MATRICES:
            matrix = _MATRICES[op]((b, h, w), generator, **arguments)
            forward = matrix if forward is None else matrix @ forward
            continue
        if forward is not None:
            out, forward = _warp(out, forward, workspace), None
        out = _PIXEL_OPS[op](out, generator, **arguments)
    out = out if forward is None else _warp(out, forward, workspace)
    return images.clone() if out is images else out


def augment_batch(images: torch.Tensor, name: str, generator: torch.Generator, workspace: dict | None = None
                  ) -> torch.Tensor:
    """images: float (B, C, H, W) in [0, 1], C = 1 or 3, any device. Returns a new tensor of the same shape,
    dtype and device, with each sample augmented by the pipeline `name` (one of transforms.AUGMENTATIONS)
    using its own random parameters drawn from `generator` (a CPU torch.Generator; draw parameters on CPU
    and move the small parameter tensors to images.device). "none" returns images unchanged (as a copy).
    `workspace` (a dict, see `scratch`) keeps intermediates' memory for the next batch."""
    if name not in _PIPELINES:
        raise ValueError(f"unknown augmentation {name!r}; known: {', '.join(AUGMENTATIONS)}")
    if images.dim() != 4 or images.shape[1] not in (1, 3) or not images.is_floating_point():
        raise ValueError(f"images must be float (B, 1 or 3, H, W), got {images.dtype} {tuple(images.shape)}")
    return _apply(images, _PIPELINES[name], generator, workspace)

"""ResNet helpers shared by `resnet50` and `resnet50-modified`: freezing the first stages.

Report 002 (Best Artworks) fine-tuned ResNet50 with "layer 1-4 frozen" (only fc trains) and "layer 1-3
frozen" (layer4 and fc train). Here that is `freeze_depth`, counted in stages of torchvision's ResNet:

    1 = stem (conv1 + bn1), 2 = layer1, 3 = layer2, 4 = layer3, 5 = layer4

freeze_depth k freezes the first k stages: 0 trains everything, 5 trains fc only. The report's
"layer 1-4 frozen" is freeze_depth 5 and "layer 1-3 frozen" is freeze_depth 4: the report's layers are
torchvision's layer1..layer4, and its frozen runs froze the stem with them.

Freezing sets `requires_grad = False` and nothing else: a frozen stage's BatchNorm layers still update
their running statistics while the model is in train mode (PyTorch's default; Keras would also stop
them for a frozen base). Call `.eval()` on those stages yourself if that matters.
"""

from __future__ import annotations

from torch import nn

# stage number (1-based) -> the torchvision ResNet attributes it holds
RESNET_STAGES: tuple[tuple[str, ...], ...] = (("conv1", "bn1"), ("layer1",), ("layer2",), ("layer3",), ("layer4",))
MAX_FREEZE_DEPTH = len(RESNET_STAGES)


def resnet_stages(model: nn.Module, depth: int) -> list[nn.Module]:
    """The modules of the first `depth` stages of a torchvision-style ResNet (stem, layer1..layer4)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= MAX_FREEZE_DEPTH:
        raise ValueError(f"freeze_depth must be an integer from 0 to {MAX_FREEZE_DEPTH}, not {depth!r}")
    return [getattr(model, attr) for stage in RESNET_STAGES[:depth] for attr in stage]


def freeze_resnet_stages(model: nn.Module, depth: int) -> None:
    """Freeze (requires_grad False) the first `depth` stages; parameters outside them are left as they are.

    Leaving the rest alone lets it combine with `set_freeze`: the frozen parameters are the union of both.
    """
    for module in resnet_stages(model, depth):
        for param in module.parameters():
            param.requires_grad = False

"""The Dogs vs Cats CNN of report 004 and its two modifications, registered as "catsdogs-cnn".

    3 x [Conv 3x3 ReLU 'same' (x2 in variant "double") → MaxPool2 → Dropout]
    Flatten, Linear dense_1_units ReLU, Dropout, Linear num_classes

Variants (the report's Keras summaries at 200x200 rgb with 1 output):
- "base":   32/64/128 filters, dense dropout 0.5 — 20,573,761 parameters (20,573,185 grayscale);
- "wide":   modification #1, filters doubled to 64/128/256, dense dropout 0.4 — 41,331,329 parameters;
- "double": modification #2, two convs per block, 32/64/128, dense dropout 0.4 — 20,767,521 parameters.
`conv_*_filter`, `dropout_*` and `dense_1_units` override the variant's values: they are the report's KerasTuner
random-search space (conv_1 32..64 step 16, conv_2 64..128 step 32, conv_3 128..256 step 64, ...).

Where the PyTorch version differs from the Keras original:
- The output layer returns logits: with num_classes=1 the sigmoid lives in nn.BCEWithLogitsLoss.
- He-uniform (`kaiming_uniform_`, fan-in, gain √2 = Keras' he_uniform) with zero biases on every conv and the
  hidden dense layer, and Keras' default glorot_uniform on the output layer, as in the hand-written models. The
  report's KerasTuner `build_model` gave no `kernel_initializer` (so glorot_uniform everywhere); here the search
  space shares the hand-written models' He-uniform initialisation.
- `dropout_4` defaults to the variant's value (0.5 base, 0.4 for both modifications, as the report's code has it).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from tunebench.models.keras_init import glorot_uniform, he_uniform
from tunebench.models.registry import MODELS, field_names

CHANNELS = {"rgb": 3, "grayscale": 1}


@dataclass(frozen=True)
class Variant:
    filters: tuple[int, int, int]
    convs_per_block: int
    dropout_4: float


VARIANTS: dict[str, Variant] = {
    "base": Variant((32, 64, 128), 1, 0.5),
    "wide": Variant((64, 128, 256), 1, 0.4),
    "double": Variant((32, 64, 128), 2, 0.4),
}


@dataclass(frozen=True)
class CatsDogsHParams:
    """The hyperparameters catsdogs-cnn reads. None: the variant's value."""

    variant: str = "base"
    conv_1_filter: int | None = None
    conv_2_filter: int | None = None
    conv_3_filter: int | None = None
    dropout_1: float = 0.2
    dropout_2: float = 0.2
    dropout_3: float = 0.2
    dropout_4: float | None = None
    dense_1_units: int = 256
    color: str = "rgb"
    image_size: int = 200

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, not {self.variant!r}")
        if self.color not in CHANNELS:
            raise ValueError(f"color must be one of {sorted(CHANNELS)}, not {self.color!r}")
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8 (three 2x2 poolings), not {self.image_size}")

    @property
    def filters(self) -> tuple[int, int, int]:
        chosen = (self.conv_1_filter, self.conv_2_filter, self.conv_3_filter)
        defaults = VARIANTS[self.variant].filters
        return tuple(int(c) if c is not None else default for c, default in zip(chosen, defaults))

    @property
    def dropouts(self) -> tuple[float, float, float, float]:
        dropout_4 = VARIANTS[self.variant].dropout_4 if self.dropout_4 is None else self.dropout_4
        return (self.dropout_1, self.dropout_2, self.dropout_3, dropout_4)


class CatsDogsCNN(nn.Module):
    def __init__(self, num_classes: int, hp: CatsDogsHParams = CatsDogsHParams()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = CHANNELS[hp.color]
        for c_out, dropout in zip(hp.filters, hp.dropouts[:3]):
            for _ in range(VARIANTS[hp.variant].convs_per_block):
                layers += [he_uniform(nn.Conv2d(c_in, c_out, 3, padding="same")), nn.ReLU()]
                c_in = c_out
            layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
        self.features = nn.Sequential(*layers, nn.Flatten())
        side = hp.image_size // 8
        units = int(hp.dense_1_units)
        output = glorot_uniform(nn.Linear(units, num_classes))  # built first, as before: same random draws
        self.classifier = nn.Sequential(
            he_uniform(nn.Linear(c_in * side * side, units)), nn.ReLU(), nn.Dropout(hp.dropouts[3]), output)

    def forward(self, x):
        return self.classifier(self.features(x))


@MODELS.register("catsdogs-cnn", hparams=field_names(CatsDogsHParams))
def catsdogs_cnn(num_classes: int, **hparams) -> CatsDogsCNN:
    """`hparams`: the fields of CatsDogsHParams."""
    return CatsDogsCNN(num_classes, CatsDogsHParams(**hparams))

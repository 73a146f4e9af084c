"""The CIFAR-10 CNN of report 001, registered as "cifar-cnn".

    [Conv(f)-act-BN, Conv(f)-act-BN, MaxPool2, Dropout d1]
    [Conv(2f)-act-BN, Conv(2f)-act-BN, MaxPool2, Dropout d2]
    [Conv(4f)-act-BN, MaxPool2, Dropout d3]
    Flatten, Linear 128-act-BN1d-Dropout d4, Linear num_classes

Where the PyTorch version differs from the Keras original:
- The last layer returns logits; the softmax lives in the loss (nn.CrossEntropyLoss).
- Keras' `kernel_regularizer=l2(0.001)` adds 0.001·Σw² to the loss, i.e. a gradient of 0.002·w on each conv
  kernel. PyTorch has no per-layer regularizer: the model lists those kernels in `decay_parameters()` and the
  trainer gives that group the optimizer's coupled `weight_decay=0.002` (torch.optim.Adam/SGD add
  weight_decay·w to the gradient, exactly what the Keras loss term does; AdamW's decoupled decay would not be).
- Keras' Conv(activation=...) applies the activation inside the conv layer, before BatchNormalization: the order
  Conv → act → BN is kept. BatchNorm uses the Keras defaults (eps 1e-3, momentum 0.99 ≙ torch momentum 0.01).
- He-uniform (`kaiming_uniform_`, fan-in, gain √2: bound √(6/fan_in), as Keras' he_uniform) with zero biases on the
  convs and the hidden dense layer; the output layer gets Keras' default glorot_uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from tunebench.models.keras_init import glorot_uniform, he_uniform
from tunebench.models.registry import MODELS, field_names

ACTIVATIONS: dict[str, type[nn.Module]] = {"mish": nn.Mish, "relu": nn.ReLU, "gelu": nn.GELU}

# Keras l2(0.001) on the conv kernels, as a coupled torch weight_decay on `decay_parameters()`.
KERAS_L2 = 0.001
WEIGHT_DECAY = 2 * KERAS_L2


def _activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {name!r}") from None


class CifarCNN(nn.Module):
    def __init__(self, num_classes: int, activation: str = "mish",
                 dropouts: tuple[float, float, float, float] = (0.2, 0.3, 0.4, 0.5),
                 base_filters: int = 32, image_size: int = 32) -> None:
        super().__init__()
        if image_size < 8:
            raise ValueError(f"image_size must be at least 8 (three 2x2 poolings), not {image_size}")
        f = base_filters

        def conv_act_bn(c_in: int, c_out: int) -> list[nn.Module]:
            conv = he_uniform(nn.Conv2d(c_in, c_out, 3, padding="same"))
            return [conv, _activation(activation), nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01)]

        self.features = nn.Sequential(
            *conv_act_bn(3, f), *conv_act_bn(f, f), nn.MaxPool2d(2), nn.Dropout(dropouts[0]),
            *conv_act_bn(f, 2 * f), *conv_act_bn(2 * f, 2 * f), nn.MaxPool2d(2), nn.Dropout(dropouts[1]),
            *conv_act_bn(2 * f, 4 * f), nn.MaxPool2d(2), nn.Dropout(dropouts[2]),
            nn.Flatten())
        side = image_size // 8
        output = glorot_uniform(nn.Linear(128, num_classes))  # built first, as before: same random draws
        self.classifier = nn.Sequential(
            he_uniform(nn.Linear(4 * f * side * side, 128)), _activation(activation),
            nn.BatchNorm1d(128, eps=1e-3, momentum=0.01), nn.Dropout(dropouts[3]),
            output)

    def decay_parameters(self) -> list[nn.Parameter]:
        """The conv kernels: the parameters Keras regularized with l2(0.001) (torch weight_decay=0.002)."""
        return [m.weight for m in self.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x):
        return self.classifier(self.features(x))


@dataclass(frozen=True)
class CifarHParams:
    """The hyperparameters cifar-cnn reads, with the report's values as defaults."""

    activation: str = "mish"
    dropout_1: float = 0.2
    dropout_2: float = 0.3
    dropout_3: float = 0.4
    dropout_4: float = 0.5
    base_filters: int = 32
    image_size: int = 32


@MODELS.register("cifar-cnn", hparams=field_names(CifarHParams))
def cifar_cnn(num_classes: int, **hparams) -> CifarCNN:
    """`hparams`: the fields of CifarHParams."""
    hp = CifarHParams(**hparams)
    dropouts = (hp.dropout_1, hp.dropout_2, hp.dropout_3, hp.dropout_4)
    return CifarCNN(num_classes, hp.activation, dropouts, hp.base_filters, hp.image_size)

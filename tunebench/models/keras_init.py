"""The Keras initialisers the reports' hand-written models used, for PyTorch layers.

- `he_uniform`: Keras' he_uniform (`kaiming_uniform_`, fan-in, gain √2: bound √(6/fan_in)) with a zero bias,
  on the hidden convolution and dense layers;
- `glorot_uniform`: Keras' default glorot_uniform (`xavier_uniform_`: bound √(6/(fan_in+fan_out))) with a zero
  bias, on the output layer.
Each initialises the layer it is given in place and returns it, so a layer is built and initialised in one
expression: `he_uniform(nn.Linear(128, 64))`.
"""

from __future__ import annotations

from typing import TypeVar

from torch import nn

Layer = TypeVar("Layer", nn.Conv2d, nn.Linear)


def he_uniform(layer: Layer) -> Layer:
    nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)
    return layer


def glorot_uniform(layer: Layer) -> Layer:
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer

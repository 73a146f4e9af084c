"""How a trial uses its device. On CUDA: bf16 autocast, channels_last, cuDNN autotuning, pinned memory with
non-blocking copies, optionally torch.compile. On CPU: plain fp32 eager.

A search resolves these once for the device its trials get (`settings`); they go into every trial's config, so
MLflow records what actually ran, and the trainable reads them back (`Acceleration.from_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

PRECISIONS = ("bf16", "fp32")


def settings(cuda: bool, precision: str = "bf16", channels_last: bool = True, compile: bool = False) -> dict[str, Any]:
    """The config entries of a search whose trials run on CUDA (cuda=True) or on CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    return {"device": "cuda" if cuda else "cpu", "precision": precision if cuda else "fp32",
            "channels_last": cuda and channels_last, "cudnn_benchmark": cuda, "pin_memory": cuda,
            "compile": compile}


@dataclass(frozen=True)
class Acceleration:
    amp: bool = False            # bf16 autocast of the forward pass and loss
    channels_last: bool = False  # NHWC model and inputs (tensor cores' layout)
    cudnn_benchmark: bool = False  # cuDNN picks the fastest convolution algorithms for the input shapes
    compile: bool = False        # torch.compile the model

    @classmethod
    def from_config(cls, config: Mapping[str, Any], device: torch.device) -> "Acceleration":
        """What `config` asks for that `device` can do (CUDA-only settings are off elsewhere)."""
        cuda = device.type == "cuda"
        return cls(amp=cuda and config.get("precision", "bf16") == "bf16",
                   channels_last=cuda and bool(config.get("channels_last", True)),
                   cudnn_benchmark=cuda and bool(config.get("cudnn_benchmark", True)),
                   compile=bool(config.get("compile")))

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self, device: torch.device):
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.amp)

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model to call in training steps: itself in channels_last, or compiled (same parameters)."""
        if self.cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        model.to(memory_format=self.memory_format)
        return torch.compile(model) if self.compile else model

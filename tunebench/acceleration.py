"""How a trial uses its device. On CUDA: bf16 autocast, channels_last, cuDNN autotuning, pinned memory with
non-blocking copies, optionally torch.compile. On CPU: plain fp32 eager.

A search resolves these once for the device its trials get (`settings.AccelSettings.on`); they go into every
trial's config, so MLflow records what actually ran, and the trainable reads them back (`Acceleration.of`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tunebench.settings import AccelSettings

@dataclass(frozen=True)
class Acceleration:
    amp: bool = False            # bf16 autocast of the forward pass and loss
    channels_last: bool = False  # NHWC model and inputs (tensor cores' layout)
    cudnn_benchmark: bool = False  # cuDNN picks the fastest convolution algorithms for the input shapes
    compile: bool = False        # torch.compile the model

    @classmethod
    def of(cls, settings: AccelSettings, device: torch.device) -> "Acceleration":
        """What the settings ask for that `device` can do (CUDA-only settings are off elsewhere)."""
        cuda = device.type == "cuda"
        return cls(amp=cuda and settings.precision == "bf16", channels_last=cuda and settings.channels_last,
                   cudnn_benchmark=cuda and settings.cudnn_benchmark, compile=settings.compile)

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

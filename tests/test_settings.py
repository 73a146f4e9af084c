"""The typed settings a trial reads: built from the config dict, one default per key, CUDA settings per device."""

from __future__ import annotations

import pytest
import torch

from tunebench.acceleration import Acceleration
from tunebench.settings import AccelSettings, DataSettings, FitSettings, OptimSettings, from_config, keys

CPU = torch.device("cpu")


def test_a_settings_class_takes_its_keys_from_the_config_and_defaults_for_the_rest():
    config = {"image_size": 64, "augment": "cifar", "lr": 0.1, "model": "alexnet"}
    assert from_config(DataSettings, config) == DataSettings(image_size=64, augment="cifar")
    assert from_config(OptimSettings, config) == OptimSettings(lr=0.1)
    assert from_config(OptimSettings, {"optimizer": None}).optimizer is None  # a recipe's gap stays a gap
    assert {"image_size", "lr", "epochs"} <= keys(DataSettings, OptimSettings, FitSettings)


def test_two_stage_fits_plan_fewer_epochs_when_their_stages_sum_to_less():
    assert FitSettings(epochs=13, frozen_epochs=3, fine_tune_epochs=3).total_epochs == 6
    assert FitSettings(epochs=4, frozen_epochs=3, fine_tune_epochs=3).total_epochs == 4
    assert FitSettings(epochs=7, frozen_epochs=3).total_epochs == 7
    assert FitSettings(loss="bce").binary and not FitSettings().binary


def test_cuda_settings_are_recorded_as_asked_and_cpu_runs_plain_fp32():
    cuda = AccelSettings(precision="bf16", channels_last=True, compile=True).on(cuda=True)
    assert cuda == AccelSettings(precision="bf16", channels_last=True, cudnn_benchmark=True, compile=True)
    assert AccelSettings(precision="bf16").on(cuda=False) == AccelSettings(
        precision="fp32", channels_last=False, cudnn_benchmark=False, compile=False)
    assert AccelSettings(precision="fp32", channels_last=False).on(cuda=True).precision == "fp32"
    # CUDA settings read on a CPU worker: the CUDA-only settings are off, compile stays as asked
    assert Acceleration.of(cuda, CPU) == Acceleration(amp=False, channels_last=False, compile=True)
    with pytest.raises(ValueError, match="precision"):
        AccelSettings(precision="fp16")

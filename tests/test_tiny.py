"""The tiny test model registered beside the real ones."""

from __future__ import annotations

import pytest
import torch

from tunebench.models import build_model


def test_output_has_one_logit_per_class():
    model = build_model("tiny-cnn", 101).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 101)


def test_tiny_cnn_has_no_pretrained_weights():
    with pytest.raises(ValueError, match="tiny-cnn has no pretrained weights"):
        build_model("tiny-cnn", 10, weights="imagenet")

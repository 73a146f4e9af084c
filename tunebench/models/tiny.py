"""A tiny CNN registered beside the real models: fast tests of the training machinery."""

from __future__ import annotations

from torch import nn

from tunebench.models.registry import MODELS, check_weights, set_freeze


class TinyCNN(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


@MODELS.register("tiny-cnn")
def tiny_cnn(num_classes: int, weights: str = "none", freeze: str = "none") -> nn.Module:
    check_weights(weights)
    if weights != "none":
        raise ValueError("tiny-cnn has no pretrained weights")
    model = TinyCNN(num_classes)
    set_freeze(model, model.classifier, freeze)
    return model

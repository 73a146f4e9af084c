"""The Ray-aware training code: a Tune Trainable whose step is one epoch and whose checkpoint is the
whole training state (model + optimiser + LR schedule + early stopping + epoch), so paused and failed
trials resume where they were.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import torch
from ray import tune

from tunebench.data import ImageSplits
from tunebench.data.loader import make_loader
from tunebench.data.transforms import image_transform, resize_side
from tunebench.models import build_model
from tunebench.train import (EarlyStopping, TrainingState, build_lr_scheduler, build_optimizer, default_device,
                             fit, predict)

STATE_FILE = "state.pt"


def _loader(config: Mapping[str, Any], splits: ImageSplits, part: str, train: bool):
    size, weights = config["image_size"], config["weights"]
    transform = image_transform(size, weights, config["augment"] if train else "none")
    return make_loader(getattr(splits, part), transform, batch_size=config["batch_size"], shuffle=train,
                       workers=config["workers"], seed=config["seed"], min_side=resize_side(size))


def build_state(config: Mapping[str, Any], num_classes: int, device: torch.device,
                pretrained: bool = True) -> TrainingState:
    """Model, optimiser, LR schedule and early stopping of a trial; pretrained=False when a checkpoint follows."""
    weights = config["weights"] if pretrained else "none"
    model = build_model(config["model"], num_classes, weights=weights, freeze=config["freeze"]).to(device)
    optimizer = build_optimizer(model, lr=config["lr"], momentum=config["momentum"],
                                weight_decay=config["weight_decay"])
    scheduler = build_lr_scheduler(optimizer, step_size=config["step_size"], gamma=config["gamma"])
    early = EarlyStopping(config["patience"]) if config["patience"] else None
    return TrainingState(model, optimizer, scheduler, early)


class TrialTrainable(tune.Trainable):
    """One trial: `step` trains and validates one epoch; Tune checkpoints after every step."""

    def setup(self, config: dict[str, Any], splits: ImageSplits) -> None:
        torch.manual_seed(config["seed"])
        self.device = default_device()
        self.state = build_state(config, splits.num_classes, self.device)
        self.epochs = fit(self.state, _loader(config, splits, "train", train=True),
                          _loader(config, splits, "val", train=False), epochs=config["epochs"], device=self.device)

    def step(self) -> dict[str, Any]:
        metrics = next(self.epochs)
        return {**metrics, "done": bool(metrics["early_stop"]) or self.state.epoch >= self.config["epochs"]}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        torch.save(self.state.state_dict(), os.path.join(checkpoint_dir, STATE_FILE))

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        self.state.load_state_dict(torch.load(os.path.join(checkpoint_dir, STATE_FILE), map_location=self.device))


def evaluate_checkpoint(checkpoint: tune.Checkpoint, config: Mapping[str, Any], splits: ImageSplits,
                        part: str = "test") -> dict[str, Any]:
    """A trial's checkpoint on a split: loss, accuracy, and the labels and predictions behind them."""
    device = default_device()
    state = build_state(config, splits.num_classes, device, pretrained=False)
    with checkpoint.as_directory() as folder:
        state.load_state_dict(torch.load(os.path.join(folder, STATE_FILE), map_location=device))
    loss, targets, predictions = predict(state.model, _loader(config, splits, part, train=False),
                                         torch.nn.CrossEntropyLoss(), device)
    accuracy = (targets == predictions).float().mean().item() if len(targets) else 0.0
    return {f"{part}_loss": loss, f"{part}_acc": accuracy, "epoch": state.epoch,
            "targets": targets.tolist(), "predictions": predictions.tolist()}

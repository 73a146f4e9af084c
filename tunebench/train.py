"""Plain PyTorch training: optimiser, LR schedule, one epoch, evaluation, early stopping, the fit loop.

No Ray and no MLflow here (see torchvision's references/classification/train.py for the shape).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch
from torch import nn


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_optimizer(model: nn.Module, *, lr: float, momentum: float = 0.9,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """SGD with momentum over the parameters that are not frozen (the report's optimiser)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def build_lr_scheduler(optimizer: torch.optim.Optimizer, *, step_size: int, gamma: float):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


def train_one_epoch(model: nn.Module, loader: Iterable, criterion: nn.Module,
                    optimizer: torch.optim.Optimizer, device: torch.device) -> dict[str, float]:
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * labels.size(0)
        correct += (outputs.argmax(1) == labels).sum().item()
        seen += labels.size(0)
    return {"train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1), "train_images": seen}


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, criterion: nn.Module,
            device: torch.device) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Mean loss, the true labels and the predicted labels over a loader."""
    model.eval()
    total_loss, seen = 0.0, 0
    targets, predictions = [], []
    for images, labels in loader:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        outputs = model(images)
        total_loss += criterion(outputs, labels).item() * labels.size(0)
        seen += labels.size(0)
        targets.append(labels.cpu())
        predictions.append(outputs.argmax(1).cpu())
    empty = torch.empty(0, dtype=torch.long)
    return (total_loss / max(seen, 1), torch.cat(targets) if targets else empty,
            torch.cat(predictions) if predictions else empty)


def evaluate(model: nn.Module, loader: Iterable, criterion: nn.Module, device: torch.device) -> tuple[float, float]:
    """(loss, accuracy) over a loader."""
    loss, targets, predictions = predict(model, loader, criterion, device)
    return loss, (targets == predictions).float().mean().item() if len(targets) else 0.0


@dataclass
class EarlyStopping:
    """Stop when val_loss has not improved for `patience` epochs."""

    patience: int
    best: float = math.inf
    bad_epochs: int = 0

    def step(self, val_loss: float) -> bool:
        if val_loss < self.best:
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


@dataclass
class TrainingState:
    """Everything a fit needs to continue where it stopped: what a checkpoint holds."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    early_stopping: EarlyStopping | None = None
    epoch: int = 0  # epochs completed

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "epoch": self.epoch,
                "early_stopping": vars(self.early_stopping) if self.early_stopping else None}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = state["epoch"]
        if self.early_stopping and state.get("early_stopping"):
            self.early_stopping = EarlyStopping(**state["early_stopping"])


def fit(state: TrainingState, train_loader: Iterable, val_loader: Iterable, *, epochs: int,
        device: torch.device, criterion: nn.Module | None = None) -> Iterator[dict[str, float]]:
    """Train from state.epoch to `epochs`, yielding each epoch's metrics after the state has advanced.

    Yields: epoch, train/val loss and accuracy, lr (of the epoch), epoch_time_s, images_per_s, early_stop.
    """
    criterion = criterion or nn.CrossEntropyLoss()
    while state.epoch < epochs:
        start = time.perf_counter()
        lr = state.optimizer.param_groups[0]["lr"]
        metrics = train_one_epoch(state.model, train_loader, criterion, state.optimizer, device)
        train_seconds = time.perf_counter() - start
        val_loss, val_acc = evaluate(state.model, val_loader, criterion, device)
        state.scheduler.step()
        state.epoch += 1
        stop = state.early_stopping.step(val_loss) if state.early_stopping else False
        images = metrics.pop("train_images")
        yield {"epoch": state.epoch, **metrics, "val_loss": val_loss, "val_acc": val_acc, "lr": lr,
               "epoch_time_s": time.perf_counter() - start, "images_per_s": images / max(train_seconds, 1e-9),
               "early_stop": int(stop)}
        if stop:
            return

"""Plain PyTorch training: optimiser, LR schedule, one epoch, evaluation, early stopping, the fit loop.

No Ray and no MLflow here (see torchvision's references/classification/train.py for the shape).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch
from sklearn.metrics import balanced_accuracy_score, f1_score
from torch import nn

from tunebench.acceleration import Acceleration
from tunebench.console import Progress
from tunebench.models.registry import trainable_parameters
from tunebench.settings import FitSettings, OptimSettings


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# Keras' default learning rates: the report's KerasTuner search chose only the optimizer's name
KERAS_DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001}
OPTIMIZERS = tuple(KERAS_DEFAULT_LR)
LR_SCHEDULES = ("step", "exponential", "constant")


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Every parameter (frozen ones too, so unfreezing later needs no new optimiser); weight decay on those the
    model names in decay_parameters() (cifar-cnn: conv kernels, Keras' kernel_regularizer), else on all."""
    if not weight_decay or not hasattr(model, "decay_parameters"):
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    decayed = {id(p) for p in model.decay_parameters()}
    return [{"params": [p for p in model.parameters() if id(p) in decayed], "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if id(p) not in decayed], "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, optim: OptimSettings) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam or RMSprop; lr None means Keras' default for that optimiser.

    Frozen parameters are included but never get a gradient, so the optimiser skips them until unfrozen.
    """
    if optim.optimizer not in KERAS_DEFAULT_LR:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optim.optimizer!r}")
    lr = KERAS_DEFAULT_LR[optim.optimizer] if optim.lr is None else optim.lr
    groups = _parameter_groups(model, optim.weight_decay)
    if optim.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=optim.momentum)
    if optim.optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr, eps=1e-7)  # Keras' epsilon
    return torch.optim.RMSprop(groups, lr=lr, alpha=0.9, eps=1e-7)  # Keras' rho and epsilon


def build_lr_scheduler(optimizer: torch.optim.Optimizer, optim: OptimSettings):
    """step: StepLR(step_size, gamma) (report 003); exponential: lr * gamma every epoch (report 002); constant."""
    if optim.lr_schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=optim.step_size, gamma=optim.gamma)
    if optim.lr_schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=optim.gamma)
    if optim.lr_schedule == "constant":
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, not {optim.lr_schedule!r}")


LOSSES = ("cross_entropy", "bce")


class Objective:
    """Softmax cross-entropy over num_classes outputs, or the reports' sigmoid + binary cross-entropy over
    one output (report 004): the loss, and the predicted class of each output row."""

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary
        self.criterion = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()

    def loss(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.binary:
            return self.criterion(outputs.squeeze(1), labels.float())
        return self.criterion(outputs, labels)

    def predict(self, outputs: torch.Tensor) -> torch.Tensor:
        return (outputs.squeeze(1) > 0).long() if self.binary else outputs.argmax(1)

    def probabilities(self, outputs: torch.Tensor) -> torch.Tensor:
        if self.binary:
            p = torch.sigmoid(outputs.squeeze(1))
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(outputs, dim=1)


class Classifier(nn.Module):
    """A trained network as it leaves tunebench (the MLflow model): a batch of preprocessed images in, each class's
    probability out (softmax; a one-output sigmoid network's [1 - p, p])."""

    def __init__(self, network: nn.Module, binary: bool = False) -> None:
        super().__init__()
        self.network = network
        self.objective = Objective(binary)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.objective.probabilities(self.network(images))


def _timed(loader: Iterable) -> Iterator[tuple[float, tuple]]:
    """Each batch of a loader with the seconds the training loop waited for it."""
    batches = iter(loader)
    while True:
        start = time.perf_counter()
        try:
            batch = next(batches)
        except StopIteration:
            return
        yield time.perf_counter() - start, batch


EPOCH_PROGRESS_S = 60.0  # a long epoch says how far it got this often


def train_one_epoch(model: nn.Module, loader: Iterable, objective: Objective, optimizer: torch.optim.Optimizer,
                    device: torch.device, accel: Acceleration = Acceleration(), label: str = "") -> dict[str, float]:
    """One pass over the loader. Loss and accuracy add up on the device: no host sync per step. An epoch longer
    than a minute says how far it got, with its rate and what is left, every minute (`label`: whose epoch)."""
    model.train()
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    seen, waited = 0, 0.0
    progress = Progress(label or "epoch", len(loader), "batches", interval=EPOCH_PROGRESS_S, closing=False) \
        if hasattr(loader, "__len__") else None
    for wait, (images, labels) in _timed(loader):
        waited += wait
        images = images.to(device, non_blocking=True, memory_format=accel.memory_format)
        labels = labels.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with accel.autocast(device):
            outputs = model(images)
            loss = objective.loss(outputs, labels)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach().float() * labels.size(0)
        correct += (objective.predict(outputs.detach()) == labels).sum()
        seen += labels.size(0)
        if progress:
            progress.update()
    if progress:
        progress.close()
    return {"train_loss": total_loss.item() / max(seen, 1), "train_acc": correct.item() / max(seen, 1),
            "train_images": seen, "data_wait_s": waited}


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, objective: Objective, device: torch.device,
            accel: Acceleration = Acceleration(), probabilities: bool = False
            ) -> tuple[float, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Mean loss, the true labels, the predicted labels over a loader, and (when asked) each image's class
    probabilities (N x classes; a binary model's [1 - p, p])."""
    model.eval()
    total_loss, seen = torch.zeros((), device=device), 0
    targets, predictions, probs = [], [], []
    for images, labels in loader:
        images = images.to(device, non_blocking=True, memory_format=accel.memory_format)
        labels = labels.to(device, non_blocking=True)
        with accel.autocast(device):
            outputs = model(images)
            total_loss += objective.loss(outputs, labels).float() * labels.size(0)
        seen += labels.size(0)
        targets.append(labels)
        predictions.append(objective.predict(outputs))
        if probabilities:
            probs.append(objective.probabilities(outputs.float()))
    empty = torch.empty(0, dtype=torch.long)
    return (total_loss.item() / max(seen, 1), torch.cat(targets).cpu() if targets else empty,
            torch.cat(predictions).cpu() if predictions else empty,
            (torch.cat(probs).cpu() if probs else torch.empty(0)) if probabilities else None)


def classification_metrics(targets: torch.Tensor, predictions: torch.Tensor, prefix: str) -> dict[str, float]:
    """Accuracy, and the macro averages report 002 asked for on imbalanced classes: the per-class mean
    accuracy (= macro recall, balanced accuracy) and macro F1 over the classes present."""
    if not len(targets):
        return {f"{prefix}_acc": 0.0, f"{prefix}_macro_recall": 0.0, f"{prefix}_macro_f1": 0.0}
    y_true, y_pred = targets.numpy(), predictions.numpy()
    with warnings.catch_warnings():  # a class never predicted is 0 precision, not a warning per epoch
        warnings.simplefilter("ignore")
        return {f"{prefix}_acc": float((y_true == y_pred).mean()),
                f"{prefix}_macro_recall": float(balanced_accuracy_score(y_true, y_pred)),
                f"{prefix}_macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0))}


def evaluate(model: nn.Module, loader: Iterable, objective: Objective, device: torch.device,
             prefix: str = "val", accel: Acceleration = Acceleration()) -> dict[str, float]:
    """{prefix}_loss, {prefix}_acc, {prefix}_macro_recall, {prefix}_macro_f1 over a loader."""
    loss, targets, predictions, _ = predict(model, loader, objective, device, accel)
    return {f"{prefix}_loss": loss, **classification_metrics(targets, predictions, prefix)}


@dataclass
class EarlyStopping:
    """Stop when val_loss has not improved for `patience` epochs (None: never stop, only track the best)."""

    patience: int | None
    best: float = math.inf
    bad_epochs: int = 0

    def step(self, val_loss: float) -> bool:
        if val_loss < self.best:
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        return self.patience is not None and self.bad_epochs >= self.patience

    @property
    def improved(self) -> bool:
        return self.bad_epochs == 0


@dataclass
class TrainingState:
    """Everything a fit needs to continue where it stopped: what a checkpoint holds.

    restore_best keeps a copy of the weights of the best val_loss epoch and puts them back when the fit ends
    (Keras' EarlyStopping(restore_best_weights=True), report 004). stage is 2 once a two-stage model
    (one with fine_tune(), report 004's transfer learning) has been unfrozen.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    early_stopping: EarlyStopping | None = None
    restore_best: bool = False
    epoch: int = 0  # epochs completed
    stage: int = 1
    best_weights: dict | None = None

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "epoch": self.epoch, "stage": self.stage,
                "early_stopping": vars(self.early_stopping) if self.early_stopping else None,
                "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        if state.get("stage", 1) == 2:
            self.model.fine_tune()
            self.stage = 2
        if "optimizer" in state:  # a finished trial's checkpoint keeps the weights only (trainable.weights_only)
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = state["epoch"]
        self.best_weights = state.get("best_weights")
        if self.early_stopping and state.get("early_stopping"):
            self.early_stopping = EarlyStopping(**state["early_stopping"])

    def fine_tune(self, lr: float) -> None:
        """Stage 2: unfreeze as the model's fine_tune() says and continue at `lr` with a fresh optimiser state,
        as the report's recompile did."""
        self.model.fine_tune()
        self.stage = 2
        self.optimizer.state.clear()
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] = lr
        self.scheduler.base_lrs = [lr for _ in self.optimizer.param_groups]

    def apply(self, optim: OptimSettings, fit: FitSettings | None = None) -> None:
        """A trial's own optimiser settings over a state loaded from a checkpoint. PBT continues a trial from another
        trial's checkpoint, whose optimiser and LR schedule carry that trial's values: here the base learning rate
        (each group's initial_lr and the schedule's base_lrs; stage 2 of a two-stage fit: fine_tune_lr when set)
        with the current one where the schedule puts it at this epoch (under the new gamma), SGD's momentum, the
        weight decay of the group that decays (_parameter_groups) and the schedule's gamma. A state of the same
        settings (a resumed trial) is left exactly as it is."""
        groups, schedule = self.optimizer.param_groups, self.scheduler
        if isinstance(self.optimizer, torch.optim.SGD):
            for group in groups:
                group["momentum"] = optim.momentum
        groups[0]["weight_decay"] = optim.weight_decay  # _parameter_groups: the first group decays, a second does not
        if self.stage == 1:
            base = KERAS_DEFAULT_LR[optim.optimizer] if optim.lr is None else optim.lr
        else:
            base = fit.fine_tune_lr if fit is not None else None  # None: the lr stage 2 started at stays
        gamma = getattr(schedule, "gamma", None)  # ConstantLR has none
        if all(base in (None, b) for b in schedule.base_lrs) and gamma in (None, optim.gamma):
            return
        if gamma is not None:
            schedule.gamma = optim.gamma
        schedule.base_lrs = [b if base is None else base for b in schedule.base_lrs]
        factor = schedule.gamma ** self._decays(fit) if gamma is not None else 1.0
        for group, b in zip(groups, schedule.base_lrs):
            group["initial_lr"], group["lr"] = b, b * factor
        schedule._last_lr = [group["lr"] for group in groups]

    def _decays(self, fit: FitSettings | None) -> int:
        """How many times the LR schedule has multiplied the learning rate by gamma since its base was set (the start,
        or stage 2's start after frozen_epochs)."""
        start = fit.frozen_epochs if self.stage == 2 and fit is not None and fit.frozen_epochs else 0
        epoch = self.scheduler.last_epoch
        if isinstance(self.scheduler, torch.optim.lr_scheduler.StepLR):
            size = self.scheduler.step_size
            return epoch // size - start // size
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ExponentialLR):
            return epoch - start
        return 0

    @classmethod
    def create(cls, model: nn.Module, optim: OptimSettings, fit: FitSettings) -> "TrainingState":
        """A fresh state: the model, its optimiser and LR schedule, and early stopping when the fit asks for it."""
        optimizer = build_optimizer(model, optim)
        early = EarlyStopping(fit.patience) if fit.patience or fit.restore_best else None
        return cls(model, optimizer, build_lr_scheduler(optimizer, optim), early, restore_best=fit.restore_best)

    def track_best(self) -> None:
        if self.restore_best and self.early_stopping and self.early_stopping.improved:
            self.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}


def fit(state: TrainingState, train_loader: Iterable, val_loader: Iterable, settings: FitSettings, *,
        device: torch.device, accel: Acceleration = Acceleration(), label: str = "") -> Iterator[dict[str, float]]:
    """Train from state.epoch to `settings.total_epochs`, yielding each epoch's metrics after the state has advanced.

    A two-stage fit (settings.frozen_epochs set) unfreezes the model after frozen_epochs and continues at
    fine_tune_lr. Yields: epoch, train/val loss and accuracy, val macro recall and F1, lr (of the epoch),
    trainable_params, stage (two-stage fits), epoch_time_s, images_per_s (training), data_wait_frac (of the
    training time spent waiting for batches), early_stop.
    """
    objective = Objective(binary=settings.binary)
    epochs, fine_tune_at, fine_tune_lr = settings.total_epochs, settings.frozen_epochs, settings.fine_tune_lr
    net = accel.prepare(state.model)
    while state.epoch < epochs:
        if fine_tune_at is not None and state.epoch >= fine_tune_at and state.stage == 1:
            state.fine_tune(fine_tune_lr if fine_tune_lr is not None else state.optimizer.param_groups[0]["lr"])
        start = time.perf_counter()
        lr = state.optimizer.param_groups[0]["lr"]
        metrics = train_one_epoch(net, train_loader, objective, state.optimizer, device, accel,
                                  f"{label} epoch {state.epoch + 1}".strip())
        train_seconds = max(time.perf_counter() - start, 1e-9)
        metrics.update(evaluate(net, val_loader, objective, device, accel=accel))
        state.scheduler.step()
        state.epoch += 1
        stop = state.early_stopping.step(metrics["val_loss"]) if state.early_stopping else False
        state.track_best()
        if (stop or state.epoch >= epochs) and state.best_weights is not None:
            state.model.load_state_dict(state.best_weights)
        images, waited = metrics.pop("train_images"), metrics.pop("data_wait_s")
        yield {"epoch": state.epoch, **metrics, "lr": lr, "trainable_params": trainable_parameters(state.model),
               **({"stage": state.stage} if fine_tune_at is not None else {}),
               "epoch_time_s": time.perf_counter() - start, "images_per_s": images / train_seconds,
               "data_wait_frac": waited / train_seconds, "early_stop": int(stop)}
        if stop:
            return

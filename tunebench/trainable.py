"""The Ray-aware training code: Tune Trainables, one per kind of study (Benchmark.trainer).

epochs       TrialTrainable: a step is one epoch; the checkpoint is the whole training state (model, optimiser,
             LR schedule, early stopping, stage, epoch) of every execution, so paused and failed trials resume
             where they were. `executions` > 1 trains the configuration that many times with different seeds
             in lock step and reports the mean (report 004's KerasTuner executions_per_trial).
feature-svm  FeatureSVMTrainable: one step, a linear SVM on cached features of a frozen backbone (report 000).
"""

from __future__ import annotations

import os
import pickle
import warnings
from typing import Any, Mapping

import numpy as np
import ray
import torch
from ray import tune

from tunebench.acceleration import Acceleration
from tunebench.data import ImageSplits
from tunebench.data.batches import batch_generators, make_batches
from tunebench.models import build_model
from tunebench.train import EarlyStopping, Objective, TrainingState, build_lr_scheduler, build_optimizer, \
    classification_metrics, default_device, fit, predict

STATE_FILE = "state.pt"
SVM_FILE = "svm.pkl"

# The config keys each trainer reads itself; a model also reads the keys its factory names (models.model_hparams).
DATA_KEYS = frozenset({"image_size", "resize", "normalize", "color", "augment", "weights", "batch_size", "workers",
                       "limit_per_class", "split", "seed", "data_pipeline"})
EPOCH_KEYS = DATA_KEYS | {
    "model", "epochs", "lr", "optimizer", "momentum", "weight_decay", "lr_schedule", "step_size", "gamma",
    "patience", "restore_best", "loss", "executions", "frozen_epochs", "fine_tune_epochs", "fine_tune_lr",
    "precision", "channels_last", "cudnn_benchmark", "compile"}
FEATURE_SVM_KEYS = DATA_KEYS | {"model", "epochs", "extractor", "C", "max_iter"}


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the values a benchmark leaves as None with the report's choice for the model: the transfer model's
    per-backbone recipe (report 004: VGG16 with SGD 1e-3 then 5e-5, MobileNetV2 with Adam 1e-4 then 1e-5)."""
    resolved = dict(config)
    if resolved.get("model") == "transfer":
        from tunebench.models.transfer import REPORT_RECIPES

        recipe = REPORT_RECIPES[resolved.get("backbone", "vgg16")]
        resolved.update({k: v for k, v in recipe.items() if resolved.get(k) is None})
    return resolved


def _loader(config: Mapping[str, Any], splits: ImageSplits, part: str, train: bool, seed: int,
            device: torch.device):
    return make_batches(config, splits, part, train=train, seed=seed, device=device,
                        progress=lambda line: print(line, flush=True))


def _objective(config: Mapping[str, Any]) -> Objective:
    return Objective(binary=config.get("loss", "cross_entropy") == "bce")


def build_state(config: Mapping[str, Any], num_classes: int, device: torch.device,
                pretrained: bool = True) -> TrainingState:
    """Model, optimiser, LR schedule and early stopping of a trial; pretrained=False when a checkpoint follows."""
    hparams = {**config, "weights": config.get("weights", "none") if pretrained else "none"}
    outputs = 1 if _objective(config).binary else num_classes
    model = build_model(config["model"], outputs, **hparams).to(device)
    optimizer = build_optimizer(model, lr=config["lr"], name=config.get("optimizer", "sgd"),
                                momentum=config.get("momentum", 0.9), weight_decay=config.get("weight_decay", 0.0))
    scheduler = build_lr_scheduler(optimizer, schedule=config.get("lr_schedule", "step"),
                                   step_size=config.get("step_size", 1), gamma=config.get("gamma", 1.0))
    restore = bool(config.get("restore_best"))
    early = EarlyStopping(config.get("patience")) if config.get("patience") or restore else None
    return TrainingState(model, optimizer, scheduler, early, restore_best=restore)


def total_epochs(config: Mapping[str, Any]) -> int:
    """The trial's epochs: `epochs`, or frozen + fine-tune epochs of a two-stage fit when that is fewer."""
    if config.get("frozen_epochs") is not None and config.get("fine_tune_epochs") is not None:
        return min(config["epochs"], config["frozen_epochs"] + config["fine_tune_epochs"])
    return config["epochs"]


class TrialTrainable(tune.Trainable):
    """One trial: `step` trains and validates one epoch of every execution; Tune checkpoints after every step."""

    KEYS = EPOCH_KEYS

    def setup(self, config: dict[str, Any], splits: ImageSplits) -> None:
        self.resolved = resolve_config(config)
        self.device = default_device()
        accel = Acceleration.from_config(self.resolved, self.device)
        self.node_id = ray.get_runtime_context().get_node_id()  # which cluster node ran the trial
        self.epochs = total_epochs(self.resolved)
        self.states: list[TrainingState] = []
        self.fits = []
        self.generators: list[torch.Generator] = []  # of the training batches: their states go in checkpoints
        for execution in range(self.resolved.get("executions") or 1):
            seed = self.resolved["seed"] + execution
            torch.manual_seed(seed)
            state = build_state(self.resolved, splits.num_classes, self.device)
            self.states.append(state)
            train_batches = _loader(self.resolved, splits, "train", True, seed, self.device)
            self.generators += batch_generators(train_batches)
            self.fits.append(fit(state, train_batches,
                                 _loader(self.resolved, splits, "val", False, seed, self.device), epochs=self.epochs,
                                 device=self.device, objective=_objective(self.resolved),
                                 fine_tune_at=self.resolved.get("frozen_epochs"),
                                 fine_tune_lr=self.resolved.get("fine_tune_lr"), accel=accel))
        self.latest: list[dict[str, Any] | None] = [None] * len(self.fits)
        self.best: list[dict[str, Any] | None] = [None] * len(self.fits)
        self.finished = [False] * len(self.fits)

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Tune reuses this actor for the next trial (reuse_actors): a fresh setup, imports done, data mapped.
        (Tune runs the trainable wrapped by tune.with_parameters, whose setup(config) adds the splits.)"""
        self.setup(new_config)
        return True

    def step(self) -> dict[str, Any]:
        _fail_once_for_tests(self.states[0].epoch + 1)
        for i, epochs in enumerate(self.fits):
            if self.finished[i]:
                continue
            metrics = next(epochs)
            self.latest[i] = metrics
            early = self.states[i].early_stopping
            if early is None or early.improved:
                self.best[i] = metrics
            self.finished[i] = bool(metrics["early_stop"]) or self.states[i].epoch >= self.epochs
        # an execution that has ended counts with its kept weights: the best epoch's when restore_best
        kept = [best if done and self.states[i].restore_best else latest
                for i, (latest, best, done) in enumerate(zip(self.latest, self.best, self.finished))]
        report = _mean(kept)
        report["epoch"] = max(m["epoch"] for m in self.latest)
        report["planned_epochs"] = self.epochs  # a two-stage fit may plan fewer than config["epochs"]
        report["node_id"] = self.node_id
        if len(self.fits) > 1:
            report["executions"] = len(self.fits)
            report.update({f"val_acc_execution_{i}": m["val_acc"] for i, m in enumerate(kept)})
        report["early_stop"] = int(all(self.finished) and any(m["early_stop"] for m in self.latest))
        return {**report, "done": all(self.finished)}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        torch.save({"executions": [s.state_dict() for s in self.states], "latest": self.latest, "best": self.best,
                    "finished": self.finished, "random": self._random_state()},
                   os.path.join(checkpoint_dir, STATE_FILE))

    def _random_state(self) -> dict[str, Any]:
        """Where every random draw of the trial stands (dropout, batch order, augmentation): a trial resumed
        from this checkpoint trains exactly as it would have without the interruption."""
        return {"torch": torch.get_rng_state(), "batches": [g.get_state() for g in self.generators],
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}

    def _set_random_state(self, saved: dict[str, Any] | None) -> None:
        if not saved or len(saved["batches"]) != len(self.generators):
            return
        torch.set_rng_state(saved["torch"])
        for generator, state in zip(self.generators, saved["batches"]):
            generator.set_state(state)
        if saved.get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda"])

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        try:
            saved = torch.load(os.path.join(checkpoint_dir, STATE_FILE), map_location=self.device, weights_only=False)
        except Exception as exc:  # truncated or corrupt file: start the trial again rather than lose the search
            warnings.warn(f"checkpoint {checkpoint_dir} cannot be read ({type(exc).__name__}: {exc}); "
                          f"the trial restarts from epoch 0")
            return
        for state, state_dict in zip(self.states, saved["executions"]):
            state.load_state_dict(state_dict)
        self.latest, self.best, self.finished = saved["latest"], saved["best"], saved["finished"]
        self._set_random_state(saved.get("random"))

    @staticmethod
    def evaluate_checkpoint(checkpoint: tune.Checkpoint, config: Mapping[str, Any], splits: ImageSplits,
                            part: str = "test") -> dict[str, Any]:
        """The checkpoint on a split (the execution with the lowest val_loss when there are several): loss,
        accuracy, macro recall and F1, and the labels and predictions behind them."""
        config = resolve_config(config)
        device = default_device()
        with checkpoint.as_directory() as folder:
            saved = torch.load(os.path.join(folder, STATE_FILE), map_location=device, weights_only=False)
        executions = saved["executions"]
        chosen = min(range(len(executions)),
                     key=lambda i: (executions[i].get("early_stopping") or {}).get("best", 0.0))
        state = build_state(config, splits.num_classes, device, pretrained=False)
        state.load_state_dict(executions[chosen])
        loss, targets, predictions = predict(state.model, _loader(config, splits, part, False, config["seed"], device),
                                             _objective(config), device, Acceleration.from_config(config, device))
        return {f"{part}_loss": loss, **classification_metrics(targets, predictions, part), "epoch": state.epoch,
                "targets": targets.tolist(), "predictions": predictions.tolist()}


FAIL_ONCE_ENV = "TUNEBENCH_TEST_FAIL_ONCE"  # "<marker file>:<epoch>": fault-tolerance tests make a trial raise once


def _fail_once_for_tests(epoch: int) -> None:
    marker, _, at = os.environ.get(FAIL_ONCE_ENV, "").rpartition(":")
    if marker and int(at) == epoch and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError(f"{FAIL_ONCE_ENV}: failing once at epoch {epoch}")


def _mean(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in metrics[0].items() if isinstance(v, (int, float))]
    return {k: float(np.mean([m[k] for m in metrics])) if len(metrics) > 1 else metrics[0][k] for k in keys}


class FeatureSVMTrainable(tune.Trainable):
    """One trial = one (extractor, C): features of the frozen backbone cut at `extractor` (extracted once per
    extractor and cached on disk), standardised with train statistics, then a linear SVM (report 000)."""

    KEYS = FEATURE_SVM_KEYS

    def setup(self, config: dict[str, Any], splits: ImageSplits) -> None:
        self.splits = splits
        self.classifier = None

    def step(self) -> dict[str, Any]:
        from tunebench.features import fit_linear_svm, load_features

        features = load_features(self.config, self.splits, ("train", "val"))
        self.classifier = fit_linear_svm(features["train"], self.splits.train, self.config)
        predictions = self.classifier.predict(features["val"])
        targets = np.array([label for _, label in self.splits.val])
        metrics = classification_metrics(torch.as_tensor(targets), torch.as_tensor(predictions), "val")
        return {"epoch": 1, "planned_epochs": 1, **metrics,
                "feature_dim": int(features["train"].shape[1]), "done": True}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, SVM_FILE), "wb") as file:
            pickle.dump(self.classifier, file)

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        with open(os.path.join(checkpoint_dir, SVM_FILE), "rb") as file:
            self.classifier = pickle.load(file)

    @staticmethod
    def evaluate_checkpoint(checkpoint: tune.Checkpoint, config: Mapping[str, Any], splits: ImageSplits,
                            part: str = "test") -> dict[str, Any]:
        from tunebench.features import load_features

        with checkpoint.as_directory() as folder, open(os.path.join(folder, SVM_FILE), "rb") as file:
            classifier = pickle.load(file)
        predictions = classifier.predict(load_features(config, splits, (part,))[part])
        targets = np.array([label for _, label in getattr(splits, part)])
        return {**classification_metrics(torch.as_tensor(targets), torch.as_tensor(predictions), part), "epoch": 1,
                "targets": targets.tolist(), "predictions": predictions.tolist()}


TRAINABLES: dict[str, type[tune.Trainable]] = {"epochs": TrialTrainable, "feature-svm": FeatureSVMTrainable}

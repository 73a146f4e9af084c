"""The Ray-aware training code: Tune Trainables, one per kind of study (Benchmark.trainer).

epochs       TrialTrainable: a step is one epoch; the checkpoint is the whole training state (model, optimiser,
             LR schedule, early stopping, stage, epoch) of every execution, so paused and failed trials resume
             where they were. `executions` > 1 trains the configuration that many times with different seeds
             in lock step and reports the mean (report 004's KerasTuner executions_per_trial).
feature-svm  FeatureSVMTrainable: one step, a linear SVM on cached features of a frozen backbone (report 000).

Besides Tune's methods each says, as static methods the driver calls: how a checkpoint is scored on a split
(evaluate_checkpoint), how it leaves tunebench as a model (export_model) and what a finished trial's checkpoint
keeps (keep_weights_only).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import warnings
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np
import ray
import torch
from ray import tune

from tunebench.acceleration import Acceleration
from tunebench.console import NORMAL, quiet_libraries, say, set_verbosity
from tunebench.data import ImageSplits
from tunebench.data.batches import batch_generators, make_batches
from tunebench.features import FeatureSettings, fit_linear_svm, load_features
from tunebench.models import build_model, input_normalization, model_hparams, with_recipe
from tunebench.settings import (AccelSettings, DataSettings, FitSettings, ModelSettings, OptimSettings,
                                from_config, keys)
from tunebench.data.transforms import preprocessing
from tunebench.train import (Classifier, Objective, TrainingState, classification_metrics, default_device, fit,
                             predict)

STATE_FILE = "state.pt"
SVM_FILE = "svm.pkl"


@dataclass(frozen=True)
class TrialSettings:
    """A trial's config dict, typed; `data.normalize` resolved from the model's weights."""

    data: DataSettings
    optim: OptimSettings
    fit: FitSettings
    model: ModelSettings
    accel: AccelSettings

    KEYS = keys(DataSettings, OptimSettings, FitSettings, ModelSettings, AccelSettings) - {"options"}

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> TrialSettings:
        """Values the config leaves None are the model's recipe (the transfer model's per-backbone optimiser,
        learning rates and epochs, report 004)."""
        config = with_recipe(config)
        model = from_config(ModelSettings, config)
        accepted = model_hparams(model.model)
        options = {k: config[k] for k in accepted if k in config}
        model = replace(model, options={**options, **({"weights": model.weights} if "weights" in accepted else {})})
        data = from_config(DataSettings, config)
        if data.normalize == "auto":
            data = replace(data, normalize=input_normalization(model.model, model.weights))
        return cls(data, from_config(OptimSettings, config), from_config(FitSettings, config), model,
                   from_config(AccelSettings, config))


def in_worker(verbosity: int) -> None:
    """A trial's worker: as talkative as the driver (--quiet, --verbose: a cluster's workers do not share its
    environment), Ray's and MLflow's warnings hidden as there, and quiet on SIGTERM."""
    set_verbosity(verbosity)
    quiet_libraries()
    exit_quietly_on_sigterm()


def exit_quietly_on_sigterm() -> None:
    """In a Ray worker: Ray stops its workers with SIGTERM, and its handler raises SystemExit, which Python prints
    as "Exception ignored ... Traceback" on the driver's terminal when the signal lands in a weakref callback of a
    worker's garbage collection. A trial's state is in its checkpoints: the worker exits at once, without a word."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(1))


def _loader(settings: TrialSettings, splits: ImageSplits, part: str, seed: int, device: torch.device,
            train: bool = False):
    return make_batches(settings.data, splits, part, train=train, seed=seed, device=device,
                        progress=say)


def build_state(settings: TrialSettings, num_classes: int, device: torch.device,
                pretrained: bool = True) -> TrainingState:
    """Model, optimiser, LR schedule and early stopping of a trial; pretrained=False when a checkpoint follows."""
    options = dict(settings.model.options)
    if not pretrained and "weights" in options:
        options["weights"] = "none"
    model = build_model(settings.model.model, 1 if settings.fit.binary else num_classes, **options).to(device)
    return TrainingState.create(model, settings.optim, settings.fit)


class TrialTrainable(tune.Trainable):
    """One trial: `step` trains and validates one epoch of every execution; Tune checkpoints after every step."""

    KEYS = TrialSettings.KEYS

    def setup(self, config: dict[str, Any], splits: ImageSplits, verbosity: int = NORMAL) -> None:
        in_worker(verbosity)
        settings = TrialSettings.of(config)
        self.device = default_device()
        accel = Acceleration.of(settings.accel, self.device)
        self.node_id = ray.get_runtime_context().get_node_id()  # which cluster node ran the trial
        self.epochs = settings.fit.total_epochs
        self.states: list[TrainingState] = []
        self.fits = []
        self.generators: list[torch.Generator] = []  # of the training batches: their states go in checkpoints
        for execution in range(settings.fit.executions or 1):
            seed = settings.fit.seed + execution
            torch.manual_seed(seed)
            state = build_state(settings, splits.num_classes, self.device)
            self.states.append(state)
            train_batches = _loader(settings, splits, "train", seed, self.device, train=True)
            self.generators += batch_generators(train_batches)
            self.fits.append(fit(state, train_batches, _loader(settings, splits, "val", seed, self.device),
                                 settings.fit, device=self.device, accel=accel, label=f"trial {self.trial_id}"))
        self.latest: list[dict[str, Any] | None] = [None] * len(self.fits)
        self.best: list[dict[str, Any] | None] = [None] * len(self.fits)
        self.finished = [False] * len(self.fits)
        self.settings, self.splits, self.accel = settings, splits, accel
        self.model_mb = model_mb(self.states[0].model)  # reported every epoch: --objective model_mb:min
        self.stage_tests: dict[int, list[dict[str, float]]] = {}  # stage -> per execution: the test split at its end

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
            fit, state = self.settings.fit, self.states[i]
            stage_ends = state.epoch == fit.frozen_epochs or (self.finished[i] and state.stage == 2)
            if fit.test_each_stage and fit.frozen_epochs is not None and stage_ends and self.splits.test:
                self.stage_tests.setdefault(state.stage, []).append(self._score_test(state, fit.seed + i))
        # an execution that has ended counts with its kept weights: the best epoch's when restore_best
        kept = [best if done and self.states[i].restore_best else latest
                for i, (latest, best, done) in enumerate(zip(self.latest, self.best, self.finished))]
        report = _mean(kept)
        report["epoch"] = max(m["epoch"] for m in self.latest)
        report["planned_epochs"] = self.epochs  # a two-stage fit may plan fewer than config["epochs"]
        report["node_id"] = self.node_id
        report["model_mb"] = self.model_mb
        if len(self.fits) > 1:
            report["executions"] = len(self.fits)
            report.update({f"val_acc_execution_{i}": m["val_acc"] for i, m in enumerate(kept)})
        report["early_stop"] = int(all(self.finished) and any(m["early_stop"] for m in self.latest))
        for stage, scores in self.stage_tests.items():
            report.update({f"stage{stage}_{k}": v for k, v in _mean(scores).items()})
        return {**report, "done": all(self.finished)}

    def _score_test(self, state: TrainingState, seed: int) -> dict[str, float]:
        batches = _loader(self.settings, self.splits, "test", seed, self.device)
        loss, targets, predictions, _ = predict(state.model, batches, Objective(self.settings.fit.binary),
                                                self.device, self.accel)
        return {"test_loss": loss, "test_acc": classification_metrics(targets, predictions, "test")["test_acc"]}

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        torch.save({"executions": [s.state_dict() for s in self.states], "latest": self.latest, "best": self.best,
                    "finished": self.finished, "random": self._random_state(),
                    "stage_tests": self.stage_tests},
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
            # this trial's optimiser settings: PBT hands it another trial's checkpoint (a resumed trial: no change)
            state.apply(self.settings.optim, self.settings.fit)
        self.latest, self.best, self.finished = saved["latest"], saved["best"], saved["finished"]
        self.stage_tests = saved.get("stage_tests", {})
        self._set_random_state(saved.get("random"))

    @staticmethod
    def evaluate_checkpoint(checkpoint: tune.Checkpoint, config: Mapping[str, Any], splits: ImageSplits,
                            part: str = "test") -> dict[str, Any]:
        """The checkpoint on a split (the execution with the lowest val_loss when there are several): loss,
        accuracy, macro recall and F1, the model's size, and the labels, predictions and class probabilities behind
        them."""
        settings = TrialSettings.of(config)
        device = default_device()
        state = _restore(checkpoint, settings, splits.num_classes, device)
        loss, targets, predictions, probabilities = predict(
            state.model, _loader(settings, splits, part, settings.fit.seed, device), Objective(settings.fit.binary),
            device, Acceleration.of(settings.accel, device), probabilities=True)
        return {f"{part}_loss": loss, **classification_metrics(targets, predictions, part), "epoch": state.epoch,
                "model_mb": model_mb(state.model), "targets": targets.tolist(), "predictions": predictions.tolist(),
                "probabilities": probabilities.tolist()}

    @staticmethod
    def export_model(checkpoint: tune.Checkpoint, config: Mapping[str, Any],
                     splits: ImageSplits) -> tuple[Classifier, torch.Tensor, dict[str, Any]] | None:
        """The checkpoint's network as it leaves tunebench, on the CPU: the Classifier (images in, class
        probabilities out), an input example (up to two preprocessed images of the validation split) and the
        preprocessing it expects (transforms.preprocessing)."""
        settings = TrialSettings.of(config)
        cpu = torch.device("cpu")
        model = Classifier(_restore(checkpoint, settings, splits.num_classes, cpu).model, settings.fit.binary).eval()
        images, _ = next(iter(_loader(settings, splits, "val", settings.fit.seed, cpu)))
        return model, images[:2].contiguous(), preprocessing(settings.data)

    @staticmethod
    def keep_weights_only(folder: str) -> None:
        """A finished trial's checkpoint rewritten to what evaluation and export read: the weights of the execution
        they use, its epoch, stage and early-stopping record (no optimiser, LR schedule, best-weights copy or random
        state, which only a resumed trial needs). Atomic: the file is whole before or after."""
        path = os.path.join(folder, STATE_FILE)
        saved = torch.load(path, map_location="cpu", weights_only=False)
        if saved.get(WEIGHTS_ONLY):
            return
        best = _best_execution(saved["executions"])
        saved.update(executions=[{k: best.get(k) for k in ("model", "epoch", "stage", "early_stopping")}],
                     random=None, **{WEIGHTS_ONLY: True})
        torch.save(saved, path + ".part")
        os.replace(path + ".part", path)


WEIGHTS_ONLY = "weights_only"


def model_mb(model: torch.nn.Module) -> float:
    """The model's size in MB (2**20 bytes): its parameters and buffers, as its state dict holds them."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values()) / 2**20


def _best_execution(executions: list[dict[str, Any]]) -> dict[str, Any]:
    """The execution evaluation uses: the lowest best val_loss of its early stopping record (the first when none
    has one)."""
    return min(executions, key=lambda e: (e.get("early_stopping") or {}).get("best", 0.0))


def _restore(checkpoint: tune.Checkpoint, settings: TrialSettings, num_classes: int,
             device: torch.device) -> TrainingState:
    """The state of a checkpoint's evaluated execution (its weights, epoch and stage)."""
    with checkpoint.as_directory() as folder:
        saved = torch.load(os.path.join(folder, STATE_FILE), map_location=device, weights_only=False)
    state = build_state(settings, num_classes, device, pretrained=False)
    state.load_state_dict(_best_execution(saved["executions"]))
    return state


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

    KEYS = FeatureSettings.KEYS

    def setup(self, config: dict[str, Any], splits: ImageSplits, verbosity: int = NORMAL) -> None:
        in_worker(verbosity)
        self.settings = FeatureSettings.of(config)
        self.splits = splits
        self.classifier = None

    def step(self) -> dict[str, Any]:
        features = load_features(self.settings, self.splits, ("train", "val"))
        self.classifier = fit_linear_svm(features["train"], self.splits.train, self.settings)
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
        with checkpoint.as_directory() as folder, open(os.path.join(folder, SVM_FILE), "rb") as file:
            classifier = pickle.load(file)
        predictions = classifier.predict(load_features(FeatureSettings.of(config), splits, (part,))[part])
        targets = np.array([label for _, label in getattr(splits, part)])
        return {**classification_metrics(torch.as_tensor(targets), torch.as_tensor(predictions), part), "epoch": 1,
                "targets": targets.tolist(), "predictions": predictions.tolist()}


    @staticmethod
    def export_model(checkpoint: tune.Checkpoint, config: Mapping[str, Any], splits: ImageSplits) -> None:
        """None: an SVM on frozen features is not a PyTorch model (its checkpoint stays the way to use it)."""
        return None

    @staticmethod
    def keep_weights_only(folder: str) -> None:
        """The SVM's pickle is all the checkpoint holds."""


TRAINABLES: dict[str, type[tune.Trainable]] = {"epochs": TrialTrainable, "feature-svm": FeatureSVMTrainable}

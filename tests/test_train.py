"""The plain PyTorch loop: it learns, stops early, and resumes from its state exactly."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from tunebench.models import build_model
from tunebench.settings import FitSettings, OptimSettings
from tunebench.train import EarlyStopping, TrainingState, fit

CPU = torch.device("cpu")


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    images = torch.randn(n, 3, 16, 16, generator=g) * 0.3
    images[torch.arange(n), labels] += 1.0  # the class is the brightest channel
    return DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=False)


def _state(lr=0.05, patience=None, step_size=2, gamma=0.5):
    torch.manual_seed(0)
    model = build_model("tiny-cnn", 3)
    state = TrainingState.create(model, OptimSettings(lr=lr, momentum=0.9, weight_decay=0.0, step_size=step_size,
                                                      gamma=gamma), FitSettings(patience=patience))
    assert state.early_stopping == (EarlyStopping(patience) if patience else None)
    return state


def test_fit_learns_and_reports_every_epoch():
    state = _state()
    history = list(fit(state, _data(), _data(seed=1), FitSettings(epochs=6), device=CPU))
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1]["val_acc"] > 0.9 and history[-1]["train_loss"] < history[0]["train_loss"]
    assert [h["lr"] for h in history[:4]] == [0.05, 0.05, 0.025, 0.025]  # StepLR(2, 0.5)
    assert all(h["images_per_s"] > 0 and h["epoch_time_s"] > 0 and 0 <= h["data_wait_frac"] <= 1 for h in history)


def test_early_stopping_ends_the_fit():
    state = _state(lr=0.0, patience=2)  # lr 0: val_loss never improves after the first epoch
    history = list(fit(state, _data(), _data(seed=1), FitSettings(epochs=20), device=CPU))
    assert len(history) == 3 and history[-1]["early_stop"] == 1


def test_resume_from_state_continues_exactly():
    cpu = CPU
    straight = _state(patience=5)
    list(fit(straight, _data(), _data(seed=1), FitSettings(epochs=4), device=cpu))

    first = _state(patience=5)
    list(fit(first, _data(), _data(seed=1), FitSettings(epochs=2), device=cpu))
    saved = first.state_dict()
    resumed = _state(patience=5)
    resumed.load_state_dict(saved)
    epochs = [h["epoch"] for h in fit(resumed, _data(), _data(seed=1), FitSettings(epochs=4), device=cpu)]

    assert epochs == [3, 4]
    assert resumed.scheduler.last_epoch == straight.scheduler.last_epoch
    assert resumed.early_stopping == straight.early_stopping
    for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()):
        torch.testing.assert_close(a, b)

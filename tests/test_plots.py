"""Each drawing function renders a real PNG from a small synthetic table, and from an empty one."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tunebench import plots


def _curves() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for t in range(8):
        for epoch in range(1, 11):
            loss = 2.0 / (1 + 0.3 * epoch * (1 + t / 8)) + rng.normal(0, 0.02)
            rows.append(dict(trial=f"trial_{t:03d}", epoch=epoch, train_loss=loss * 0.9, val_loss=loss,
                             train_acc=1 - loss / 2.2, val_acc=1 - loss / 2, rank=8 - t,
                             stage=1 if t != 7 or epoch <= 4 else 2))  # the best trial unfreezes at epoch 5
    curves = pd.DataFrame(rows)
    curves.loc[curves["trial"] == "trial_000", "train_acc"] = np.nan  # a metric a trial never reported
    return curves


def _trials() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 12
    return pd.DataFrame(dict(lr=10 ** rng.uniform(-4, -1, n), step_size=rng.choice([5, 10, 15, 20], n),
                             weights=[None if i % 3 else "DEFAULT" for i in range(n)],
                             nesterov=[bool(i % 2) for i in range(n)], val_acc=rng.uniform(0.2, 0.8, n)))


def _classification_table(n_classes: int) -> pd.DataFrame:
    from tunebench.reports import classification_table

    rng = np.random.default_rng(2)
    true = [f"class_{i}" for i in rng.integers(0, n_classes, 20 * n_classes)]
    predicted = [t if rng.random() < 0.7 else f"class_{rng.integers(0, n_classes)}" for t in true]
    return classification_table(true, predicted)


def _confusion(n_classes: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 3, (n_classes, n_classes)) + np.diag(rng.integers(5, 30, n_classes))
    names = [f"class_{i}" for i in range(n_classes)]
    return pd.DataFrame(counts, index=names, columns=names)


def _progress() -> pd.DataFrame:
    values = np.maximum.accumulate(np.random.default_rng(4).uniform(0.2, 0.8, 15))
    return pd.DataFrame(dict(cumulative_epochs=np.cumsum(np.full(15, 10)),
                             cumulative_time_s=np.cumsum(np.full(15, 40.0)), best=values))


CASES: dict[str, tuple[Callable[[Path], Path], Callable[[Path], Path]]] = {
    "learning_curves": (lambda p: plots.learning_curves(_curves(), p, top=3),
                        lambda p: plots.learning_curves(pd.DataFrame(), p)),
    "parallel_coordinates": (
        lambda p: plots.parallel_coordinates(_trials(), ["lr", "step_size", "weights", "nesterov"], "val_acc", p),
        lambda p: plots.parallel_coordinates(pd.DataFrame(columns=["lr", "val_acc"]), ["lr"], "val_acc", p)),
    "importance": (lambda p: plots.importance(pd.Series(dict(lr=0.6, step_size=0.25, gamma=0.15)), p),
                   lambda p: plots.importance(pd.Series(dtype=float), p)),
    "confusion_matrix": (lambda p: plots.confusion_matrix(_confusion(6), p),
                         lambda p: plots.confusion_matrix(pd.DataFrame(), p)),
    "confusion_matrix_101": (lambda p: plots.confusion_matrix(_confusion(101), p),
                             lambda p: plots.confusion_matrix(pd.DataFrame(dtype=int), p)),
    "per_class_metrics": (lambda p: plots.per_class_metrics(_classification_table(5), p),
                          lambda p: plots.per_class_metrics(pd.DataFrame(), p)),
    "per_class_metrics_101": (lambda p: plots.per_class_metrics(_classification_table(101), p),
                              lambda p: plots.per_class_metrics(_classification_table(3).iloc[-3:], p)),
    "best_so_far": (lambda p: plots.best_so_far(_progress(), "val_acc", p),
                    lambda p: plots.best_so_far(pd.DataFrame(), "val_acc", p)),
    "one_factor": (lambda p: plots.one_factor(pd.DataFrame({"lr": [1e-4, 1e-3, 1e-2, 1e-1],
                                                            "val_loss": [2.1, 1.5, 1.2, 2.4],
                                                            "val_acc": [0.3, 0.5, 0.6, 0.2]}), "lr", p),
                   lambda p: plots.one_factor(pd.DataFrame(columns=["lr", "val_loss", "val_acc"]), "lr", p)),
    "slices": (
        lambda p: plots.slices(_trials().assign(outcome=["completed", "stopped by scheduler", "early-stopped",
                                                         "error", "stopped by the time budget", None] * 2),
                               ["lr", "step_size", "weights", "nesterov"], "val_acc", p),
        lambda p: plots.slices(pd.DataFrame(columns=["lr", "val_acc", "outcome"]), ["lr"], "val_acc", p)),
    "pair": (lambda p: plots.pair(_trials(), ("lr", "step_size"), "val_acc", p),
             lambda p: plots.pair(_trials().assign(val_acc=np.nan), ("lr", "weights"), "val_acc", p)),
    "one_factor_categorical": (
        lambda p: plots.one_factor(pd.DataFrame({"weights": [None, "DEFAULT"], "val_loss": [2.0, 0.9],
                                                 "val_acc": [0.41, 0.81]}), "weights", p),
        lambda p: plots.one_factor(pd.DataFrame(), "weights", p)),
}


def _check_png(path: Path, min_bytes: int) -> tuple[int, int]:
    assert path.is_file()
    assert path.stat().st_size > min_bytes
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert width >= 200 and height >= 200
    return width, height


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_renders_png(name: str, tmp_path: Path) -> None:
    draw, _ = CASES[name]
    out = draw(tmp_path / "sub" / f"{name}.png")
    assert out == tmp_path / "sub" / f"{name}.png"
    _check_png(out, 5_000)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_empty_input_says_no_data(name: str, tmp_path: Path) -> None:
    _, draw_empty = CASES[name]
    out = draw_empty(tmp_path / f"{name}_empty.png")
    _check_png(out, 1_000)
    assert plt.get_fignums() == []


def test_large_inputs_scale_figure(tmp_path: Path) -> None:
    small = _check_png(plots.confusion_matrix(_confusion(6), tmp_path / "small.png"), 5_000)
    large = _check_png(plots.confusion_matrix(_confusion(101), tmp_path / "large.png"), 5_000)
    assert large[0] > 2 * small[0] and large[0] <= 23 * plots.DPI  # scaled with class count, capped near 20 in
    tall = _check_png(plots.per_class_metrics(_classification_table(101), tmp_path / "classes.png"), 5_000)
    assert tall[1] > tall[0]  # many classes: one row per class


def test_stage_change_marked(tmp_path: Path) -> None:
    curves = _curves()
    plain = plots.learning_curves(curves.drop(columns="stage"), tmp_path / "plain.png", top=3)
    staged = plots.learning_curves(curves, tmp_path / "staged.png", top=3)
    with Image.open(plain) as a, Image.open(staged) as b:
        assert a.size == b.size
        assert np.asarray(a.convert("RGB")).tobytes() != np.asarray(b.convert("RGB")).tobytes()


def test_partial_and_odd_inputs(tmp_path: Path) -> None:
    """Missing columns, NaN values, constant axes and absent summary rows still draw, without raising."""
    curves = _curves().drop(columns=["rank", "train_acc", "val_acc"])
    trials = _trials()
    trials.loc[0, "val_acc"] = np.nan
    trials["constant"] = 0.1
    table = _classification_table(4)
    drawn = [
        plots.learning_curves(curves, tmp_path / "a.png", top=20),
        plots.parallel_coordinates(trials, ["lr", "constant", "missing"], "val_acc", tmp_path / "b.png"),
        plots.per_class_metrics(table[~table["class"].isin(plots.SUMMARY_ROWS)], tmp_path / "c.png"),
        plots.best_so_far(_progress().assign(best=np.nan), "val_loss", tmp_path / "d.png"),
        plots.one_factor(pd.DataFrame({"step_size": [5, 10, 20], "val_acc": [0.4, 0.5, 0.45]}), "step_size",
                         tmp_path / "e.png", held="lr=0.01"),
        plots.slices(trials.assign(val_acc=np.nan), ["lr", "constant", "missing"], "val_acc", tmp_path / "f.png"),
        plots.slices(trials.rename(columns={"val_acc": "val_loss"}), ["weights"], "val_loss", tmp_path / "g.png"),
        plots.pair(trials, ("nesterov", "constant"), "val_acc", tmp_path / "h.png"),
    ]
    for path in drawn:
        _check_png(path, 1_000)
    assert plt.get_fignums() == []

"""Drawing: PNG figures of a search's study report, from the tables that `reports.py` computes.

Each function takes a DataFrame or Series, writes one PNG to `path` and returns the path. Only
matplotlib, through `Figure` objects rendered by the Agg canvas: no pyplot, so no global figure
state to leak in Ray workers or tests. An empty table gives a figure saying "no data", never an error.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

DPI = 110
SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg")


def _save(fig: Figure, path: Path, title: str, tight: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.suptitle(title)
    fig.savefig(path, dpi=DPI, bbox_inches="tight" if tight else None)
    fig.clear()  # a pyplot-free Figure is freed by garbage collection; clearing drops its artists now
    return path


def _no_data(path: Path, title: str) -> Path:
    fig = Figure(layout="constrained", figsize=(6, 4))
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=18, color="grey", transform=ax.transAxes)
    ax.set_axis_off()
    return _save(fig, path, title, tight=False)  # a tight box would shrink to the text alone


def _is_categorical(values: pd.Series) -> bool:
    """Strings, bools and None (as in `tune.choice`) are categories; numbers with NaN are numbers."""
    if pd.api.types.is_bool_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values):
        return False
    return any(v is None or isinstance(v, (str, bool, np.bool_)) for v in values)


def _label(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def _spans_decades(values: pd.Series, decades: float = 2) -> bool:
    finite = values.dropna()
    return bool(len(finite)) and bool((finite > 0).all()) and finite.max() / finite.min() >= 10 ** decades


def learning_curves(curves: pd.DataFrame, path: Path, top: int = 5) -> Path:
    """Loss and accuracy per epoch: the `top` best-ranked trials in colour, the others faint grey."""
    title = "Learning curves"
    if curves.empty or not {"trial", "epoch"} <= set(curves.columns):
        return _no_data(path, title)
    if "rank" in curves:
        ranks = curves.groupby("trial", sort=False)["rank"].min().sort_values(kind="stable")
    else:
        ranks = pd.Series(range(1, curves["trial"].nunique() + 1), index=curves["trial"].unique())
    best = list(ranks.index[:top])
    colours = matplotlib.colormaps["tab10"]
    fig = Figure(layout="constrained", figsize=(12, 4.5))
    axes = fig.subplots(1, 2)
    for trial in [t for t in ranks.index if t not in best] + best[::-1]:  # best drawn last, on top
        group = curves[curves["trial"] == trial].sort_values("epoch")
        highlighted = trial in best
        style: dict[str, Any] = (dict(color=colours(best.index(trial) % 10), alpha=0.95, lw=1.6) if highlighted
                                 else dict(color="grey", alpha=0.25, lw=0.8))
        for ax, kind in zip(axes, ("loss", "acc")):
            label = f"#{best.index(trial) + 1} {trial}" if highlighted else None
            for split, linestyle in (("val", "-"), ("train", "--")):
                column = f"{split}_{kind}"
                if column in group and group[column].notna().any():
                    ax.plot(group["epoch"], group[column], linestyle=linestyle, label=label, marker="o",
                            markersize=3 if highlighted else 2, **style)  # a trial cut after one epoch is a dot
                    label = None
            if "stage" in group and group["stage"].nunique() > 1:
                stage = group["stage"]
                for epoch in group["epoch"][stage.ne(stage.shift()) & stage.shift().notna()]:
                    ax.axvline(epoch - 0.5, linestyle=":", color=style["color"], alpha=style["alpha"])
    for ax, name in zip(axes, ("Loss", "Accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.lower())
        ax.set_title(f"{name} (train dashed, val solid)", fontsize=10)
        ax.grid(alpha=0.3)
        entries = sorted(zip(*ax.get_legend_handles_labels()), key=lambda e: int(e[1][1:].split()[0]))
        if entries:  # in rank order, though the best trial is drawn last
            ax.legend(*zip(*entries), fontsize=8, title="trial (rank)", title_fontsize=8)
    return _save(fig, path, title)


def _axis_positions(values: pd.Series) -> tuple[np.ndarray, list[tuple[float, str]], bool]:
    """Positions in [0, 1] for one parallel-coordinates axis, its (position, label) ticks, and log or not."""
    if _is_categorical(values):
        labels = values.map(_label)
        categories = sorted(labels.unique())
        spread = {c: (i / (len(categories) - 1) if len(categories) > 1 else 0.5) for i, c in enumerate(categories)}
        return labels.map(spread).to_numpy(float), [(spread[c], c) for c in categories], False
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    if numbers.dropna().empty:
        return numbers.to_numpy(), [], False
    log = _spans_decades(numbers)
    scaled = np.log10(numbers) if log else numbers
    low, high = scaled.min(), scaled.max()
    if high == low:
        return np.where(numbers.notna(), 0.5, np.nan), [(0.5, _label(numbers.min()))], log
    position = (scaled - low) / (high - low)
    shown = numbers.dropna().unique()
    if len(shown) > 6:  # a continuous range: label its ends
        shown = np.array([numbers.min(), numbers.max()])
    where = dict(zip(numbers, position))
    return position.to_numpy(), [(where[v], _label(v)) for v in sorted(shown)], log


def parallel_coordinates(trials: pd.DataFrame, params: list[str], metric: str, path: Path) -> Path:
    """One vertical axis per hyperparameter plus the metric; each trial a line coloured by the metric."""
    title = f"Parallel coordinates ({metric})"
    columns = [p for p in params if p in trials] + [metric]
    if trials.empty or metric not in trials:
        return _no_data(path, title)
    score = pd.to_numeric(trials[metric], errors="coerce")
    axes_data = [_axis_positions(trials[c]) for c in columns]
    lines = np.column_stack([positions for positions, _, _ in axes_data])
    norm = Normalize(score.min(), score.max()) if score.notna().any() else Normalize(0, 1)
    cmap = matplotlib.colormaps["viridis"]
    lower_is_better = any(word in metric.lower() for word in ("loss", "error"))
    order = score.fillna(-np.inf).argsort(kind="stable").to_numpy()  # best trials drawn last, on top
    fig = Figure(layout="constrained", figsize=(max(6.0, 1.8 * len(columns) + 2), 5))
    ax = fig.add_subplot()
    x = np.arange(len(columns))
    for row in (order[::-1] if lower_is_better else order):
        colour = cmap(norm(score.iloc[row])) if pd.notna(score.iloc[row]) else "lightgrey"
        ax.plot(x, lines[row], color=colour, alpha=0.7, lw=1.2)
    for i, (_, ticks, _) in enumerate(axes_data):
        ax.axvline(i, color="black", lw=1)
        for y, text in ticks:
            ax.text(i + 0.03, y, text, fontsize=8, va="center", ha="left",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    names = [f"{c} (log)" if log else c for c, (_, _, log) in zip(columns, axes_data)]
    ax.set_xticks(x, names, rotation=30 if len(columns) > 6 else 0)
    ax.set_xlim(-0.2, len(columns) - 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=metric, pad=0.02)
    return _save(fig, path, title)


def importance(importances: pd.Series, path: Path) -> Path:
    """Horizontal bars of hyperparameter importances, largest on top, each labelled with its value."""
    title = "Hyperparameter importance"
    values = pd.to_numeric(importances, errors="coerce").dropna().sort_values(ascending=False)
    if values.empty:
        return _no_data(path, title)
    fig = Figure(layout="constrained", figsize=(7, max(3.0, 0.45 * len(values) + 1)))
    ax = fig.add_subplot()
    bars = ax.barh([str(i) for i in values.index[::-1]], values.to_numpy()[::-1], color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", padding=3, fontsize=9)
    ax.set_xlim(0, max(values.max(), 1e-9) * 1.18)
    ax.set_xlabel("importance (fraction of variance)")
    return _save(fig, path, title)


def confusion_matrix(matrix: pd.DataFrame, path: Path) -> Path:
    """Heatmap coloured by the fraction of each true class; counts in the cells for up to 20 classes."""
    title = "Confusion matrix"
    if matrix.empty:
        return _no_data(path, title)
    counts = matrix.to_numpy(dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    n = max(counts.shape)
    side = min(20.0, max(5.0, 0.2 * n + 3))
    fontsize = 9 if n <= 20 else float(np.clip(0.45 * side * 72 / n, 4, 8))  # about half a cell high
    fig = Figure(layout="constrained", figsize=(side + 1.2, side))
    ax = fig.add_subplot()
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1, aspect="equal")
    if n <= 20:
        for (i, j), count in np.ndenumerate(counts):
            ax.text(j, i, f"{count:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if fractions[i, j] > 0.5 else "black")
    ax.set_xticks(np.arange(counts.shape[1]), [str(c) for c in matrix.columns], rotation=90 if n > 8 else 45,
                  ha="center" if n > 8 else "right", fontsize=fontsize)
    ax.set_yticks(np.arange(counts.shape[0]), [str(c) for c in matrix.index], fontsize=fontsize)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, label="fraction of true class", fraction=0.046, pad=0.02)
    return _save(fig, path, title)


def per_class_metrics(table: pd.DataFrame, path: Path) -> Path:
    """Grouped precision / recall / F1 bars per class, with the macro-average F1 as a line."""
    title = "Per-class precision, recall and F1"
    if table.empty or "class" not in table:
        return _no_data(path, title)
    names = table["class"].astype(str)
    rows = table[~names.isin(SUMMARY_ROWS)]
    if rows.empty:
        return _no_data(path, title)
    macro = table.loc[names == "macro avg", "f1-score"]
    macro_f1 = float(macro.iloc[0]) if len(macro) else float(rows["f1-score"].mean())
    metrics = [m for m in ("precision", "recall", "f1-score") if m in rows]
    n, width = len(rows), 0.8 / max(len(metrics), 1)
    horizontal = n > 30
    if horizontal:  # many classes: one row per class, sorted so the weakest classes sit on top
        rows = rows.sort_values("f1-score", ascending=False)
        fig = Figure(layout="constrained", figsize=(9, min(40.0, 0.28 * n + 1.5)))
    else:
        fig = Figure(layout="constrained", figsize=(min(20.0, max(6.0, 0.5 * n + 2)), 4.5))
    ax = fig.add_subplot()
    position = np.arange(n)
    for k, metric in enumerate(metrics):
        offset = position + (k - (len(metrics) - 1) / 2) * width
        values = rows[metric].to_numpy(float)
        (ax.barh if horizontal else ax.bar)(offset, values, width, label=metric)
    labels = rows["class"].astype(str).tolist()
    (ax.axvline if horizontal else ax.axhline)(macro_f1, color="black", linestyle="--", lw=1,
                                                label=f"macro F1 = {macro_f1:.3f}")
    if horizontal:
        ax.set_yticks(position, labels, fontsize=7)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_xlim(0, 1.05)
        ax.set_xlabel("score")
    else:
        ax.set_xticks(position, labels, rotation=45 if n > 6 else 0, ha="right" if n > 6 else "center")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("score")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _save(fig, path, title)


def best_so_far(progress: pd.DataFrame, metric: str, path: Path) -> Path:
    """The best metric value so far against cumulative epochs and against cumulative time."""
    title = f"Best {metric} so far"
    needed = {"cumulative_epochs", "cumulative_time_s", "best"}
    data = progress.dropna(subset=["best"]) if needed <= set(progress.columns) else progress.iloc[0:0]
    if data.empty:
        return _no_data(path, title)
    seconds = data["cumulative_time_s"].astype(float)
    minutes = seconds.max() > 120
    fig = Figure(layout="constrained", figsize=(11, 4))
    for ax, x, label in zip(fig.subplots(1, 2), (data["cumulative_epochs"], seconds / 60 if minutes else seconds),
                            ("cumulative epochs", f"cumulative time ({'min' if minutes else 's'})")):
        ax.step(x, data["best"], where="post", color="tab:blue")
        ax.plot(x, data["best"], "o", color="tab:blue", markersize=3)
        ax.set_xlabel(label)
        ax.set_ylabel(f"best {metric}")
        ax.grid(alpha=0.3)
    return _save(fig, path, title)


def one_factor(table: pd.DataFrame, param: str, path: Path) -> Path:
    """Validation loss and accuracy against the values of one hyperparameter (one row per value)."""
    title = f"Validation loss and accuracy by {param}"
    if table.empty or param not in table:
        return _no_data(path, title)
    values = table[param]
    categorical = _is_categorical(values)
    data = table if categorical else table.sort_values(param)
    x = np.arange(len(data)) if categorical else pd.to_numeric(data[param], errors="coerce").astype(float)
    fig = Figure(layout="constrained", figsize=(10, 4))
    for ax, metric, colour in zip(fig.subplots(1, 2), ("val_loss", "val_acc"), ("tab:red", "tab:blue")):
        if metric in data:
            ax.plot(x, data[metric].astype(float), "o-", color=colour)
        if categorical:
            ax.set_xticks(x, data[param].map(_label), rotation=30 if len(data) > 4 else 0)
        elif _spans_decades(x):
            ax.set_xscale("log")
        ax.set_xlabel(param)
        ax.set_ylabel(metric.replace("val_", "validation "))
        ax.grid(alpha=0.3)
    return _save(fig, path, title)

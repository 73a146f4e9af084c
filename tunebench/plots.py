"""Drawing: PNG figures of a search's study report, from the tables that `reports.py` computes.

Each function takes a DataFrame or Series, writes one PNG to `path` and returns the path; the `draw_*` ones
behind some of them return the titled Figure unsaved (what the tests read the axes of). Only matplotlib, through
`Figure` objects rendered by the Agg canvas: no pyplot, so no global figure state to leak in Ray workers or tests
(which is also why the slice plot is drawn here rather than by optuna.visualization.matplotlib, which draws on
pyplot's figures and switches pyplot's global style). An empty table gives a figure saying "no data", never an
error. Axes of epochs tick whole numbers; log axes tick powers of ten only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, MaxNLocator, NullFormatter

from tunebench.reports import SUMMARY_ROWS, non_dominated
from tunebench.trials import COMPLETED, EARLY_STOPPED, ERROR, NO_RESULT, STOPPED_BY_SCHEDULER

DPI = 110
NO_DATA = "no data"
OUTCOME_STYLES = {COMPLETED: ("tab:blue", "o"), EARLY_STOPPED: ("tab:orange", "s"),
                  STOPPED_BY_SCHEDULER: ("tab:purple", "v"), ERROR: ("tab:red", "X"), NO_RESULT: ("grey", "X")}
"""Colour and marker of each trial outcome (trials.trial_outcome's words) in the slice plot; any other outcome
takes one of OTHER_COLOURS, under its own name."""
OTHER_COLOURS = ("tab:brown", "tab:olive", "tab:cyan", "tab:pink", "tab:green")


def _write(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a tight box around the "no data" figure would shrink to the text alone
    fig.savefig(path, dpi=DPI, bbox_inches=None if fig.get_label() == NO_DATA else "tight")
    fig.clear()  # a pyplot-free Figure is freed by garbage collection; clearing drops its artists now
    return path


def _save(fig: Figure, path: Path, title: str) -> Path:
    fig.suptitle(title)
    return _write(fig, path)


def _no_data_figure(title: str) -> Figure:
    fig = Figure(layout="constrained", figsize=(6, 4))
    fig.set_label(NO_DATA)
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=18, color="grey", transform=ax.transAxes)
    ax.set_axis_off()
    fig.suptitle(title)
    return fig


def _no_data(path: Path, title: str) -> Path:
    return _write(_no_data_figure(title), path)


def _is_categorical(values: pd.Series) -> bool:
    """Strings, bools and None (as in `tune.choice`) are categories; numbers with NaN are numbers."""
    if pd.api.types.is_bool_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values):
        return False
    return any(v is None or isinstance(v, (str, bool, np.bool_)) for v in values)


def _is_whole(values: pd.Series) -> bool:
    finite = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(finite)) and bool((finite == finite.round()).all())


def _label(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "None"
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def _spans_decades(values: pd.Series, decades: float = 2) -> bool:
    finite = pd.Series(values).dropna()
    return bool(len(finite)) and bool((finite > 0).all()) and finite.max() / finite.min() >= 10 ** decades


def _integer_ticks(axis: Axis) -> None:
    """Ticks at whole numbers only (epochs, filter counts): no "2.5 epochs"."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _log_scale(ax, which: str = "x") -> None:
    """A log axis labelled at powers of ten only (10^-4, 10^-3): matplotlib otherwise labels the minor ticks too
    when the values span few decades, and their labels run into each other."""
    getattr(ax, f"set_{which}scale")("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(LogFormatterSciNotation(base=10))
    axis.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10)))
    axis.set_minor_formatter(NullFormatter())


def _value_axis(ax, values: pd.Series, which: str = "x") -> None:
    """The axis of a numeric hyperparameter: log when it spans two decades; for whole numbers, a tick at each value
    (up to 8 of them) or at whole numbers."""
    if _spans_decades(values):
        _log_scale(ax, which)
    elif _is_whole(values):
        axis = ax.xaxis if which == "x" else ax.yaxis
        distinct = sorted(pd.Series(values).dropna().unique())
        if len(distinct) <= 8:
            axis.set_ticks(distinct, [f"{v:g}" for v in distinct])
        else:
            _integer_ticks(axis)


def learning_curves(curves: pd.DataFrame, path: Path, top: int = 5) -> Path:
    """Loss and accuracy per epoch: the `top` best-ranked trials in colour, the others faint grey."""
    return _write(draw_learning_curves(curves, top), path)


def draw_learning_curves(curves: pd.DataFrame, top: int = 5) -> Figure:
    title = "Learning curves"
    if curves.empty or not {"trial", "epoch"} <= set(curves.columns):
        return _no_data_figure(title)
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
        _integer_ticks(ax.xaxis)
        ax.set_ylabel(name.lower())
        ax.set_title(f"{name} (train dashed, val solid)", fontsize=10)
        ax.grid(alpha=0.3)
        entries = sorted(zip(*ax.get_legend_handles_labels()), key=lambda e: int(e[1][1:].split()[0]))
        if entries:  # in rank order, though the best trial is drawn last
            ax.legend(*zip(*entries), fontsize=8, title="trial (rank)", title_fontsize=8)
    fig.suptitle(title)
    return fig


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
    return position.to_numpy(), _thinned([(where[v], _label(v)) for v in sorted(shown)]), log


def _thinned(ticks: list[tuple[float, str]], gap: float = 0.07) -> list[tuple[float, str]]:
    """The labels of one axis, less those closer than `gap` (of the axis height) to one kept below them, so that
    no two overlap; the top label is kept, in place of the one below it if need be."""
    ordered, kept = sorted(ticks), []
    for i, tick in enumerate(ordered):
        if not kept or tick[0] - kept[-1][0] >= gap:
            kept.append(tick)
        elif i == len(ordered) - 1 and len(kept) > 1:
            kept[-1] = tick
    return kept


def parallel_coordinates(trials: pd.DataFrame, params: list[str], metric: str, path: Path) -> Path:
    """One vertical axis per hyperparameter plus the metric; each trial a line coloured by the metric."""
    return _write(draw_parallel_coordinates(trials, params, metric), path)


def draw_parallel_coordinates(trials: pd.DataFrame, params: list[str], metric: str) -> Figure:
    title = f"Parallel coordinates ({metric})"
    columns = [p for p in params if p in trials] + [metric]
    if trials.empty or metric not in trials:
        return _no_data_figure(title)
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
    fig.suptitle(title)
    return fig


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
    return _write(draw_best_so_far(progress, metric), path)


def draw_best_so_far(progress: pd.DataFrame, metric: str) -> Figure:
    title = f"Best {metric} so far"
    needed = {"cumulative_epochs", "cumulative_time_s", "best"}
    data = progress.dropna(subset=["best"]) if needed <= set(progress.columns) else progress.iloc[0:0]
    if data.empty:
        return _no_data_figure(title)
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
    _integer_ticks(fig.axes[0].xaxis)  # epochs
    fig.suptitle(title)
    return fig


def one_factor(table: pd.DataFrame, param: str, path: Path, held: str = "") -> Path:
    """Validation loss and accuracy against the values of one hyperparameter (one row per value), joined by
    lines: only for trials where every other hyperparameter held still (reports.one_factor_slice); `held` says
    at what ("step_size=10"), under the title."""
    return _write(draw_one_factor(table, param, held), path)


def draw_one_factor(table: pd.DataFrame, param: str, held: str = "") -> Figure:
    title = f"Validation loss and accuracy by {param}" + (f"\n(the others held at {held})" if held else "")
    if table.empty or param not in table:
        return _no_data_figure(title)
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
        else:
            _value_axis(ax, x)
        ax.set_xlabel(param)
        ax.set_ylabel(metric.replace("val_", "validation "))
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def slices(trials: pd.DataFrame, params: list[str], metric: str, path: Path) -> Path:
    """Every trial against each hyperparameter: one panel per hyperparameter, a point per trial at its value and
    its best `metric`, coloured by how the trial ended (`outcome`); the best trial ringed. Trials that reported
    no metric sit as crosses on the bottom edge. The other hyperparameters vary too: no lines join the points."""
    return _write(draw_slices(trials, params, metric), path)


def draw_slices(trials: pd.DataFrame, params: list[str], metric: str) -> Figure:
    title = f"Slices: every trial's {metric} against each hyperparameter"
    params = [p for p in params if p in trials]
    if trials.empty or metric not in trials or not params:
        return _no_data_figure(title)
    score = pd.to_numeric(trials[metric], errors="coerce")
    outcome = trials.get("outcome", pd.Series(COMPLETED, index=trials.index)).fillna(NO_RESULT).astype(str)
    lower_is_better = any(word in metric.lower() for word in ("loss", "error"))
    best = (score.idxmin() if lower_is_better else score.idxmax()) if score.notna().any() else None
    columns = min(3, len(params))
    rows = math.ceil(len(params) / columns)
    fig = Figure(layout="constrained", figsize=(4.3 * columns, 3.4 * rows + 0.6))
    axes = np.atleast_1d(fig.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    others = sorted(set(outcome) - set(OUTCOME_STYLES))
    styles = {**{k: v for k, v in OUTCOME_STYLES.items() if k in set(outcome)},
              **{k: (OTHER_COLOURS[i % len(OTHER_COLOURS)], "P") for i, k in enumerate(others)}}
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(trials))  # same seed: the same picture each time
    for ax, param in zip(axes, params):
        values = trials[param]
        if _is_categorical(values):
            labels = values.map(_label)
            categories = sorted(labels.unique())
            x = labels.map({c: i for i, c in enumerate(categories)}).to_numpy(float) + jitter
            ax.set_xticks(range(len(categories)), categories, rotation=30 if len(categories) > 4 else 0)
            ax.set_xlim(-0.5, len(categories) - 0.5)
        else:
            x = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
            _value_axis(ax, pd.Series(x))
        for name, (colour, marker) in styles.items():
            chosen = (outcome == name).to_numpy()
            shown = chosen & score.notna().to_numpy()
            ax.scatter(x[shown], score[shown], color=colour, marker=marker, s=28, alpha=0.8, label=name)
            missing = chosen & score.isna().to_numpy()  # on the bottom edge: x in data, y in axes fraction
            ax.scatter(x[missing], np.full(missing.sum(), 0.02), color=colour, marker="x", s=28,
                       transform=ax.get_xaxis_transform(), clip_on=False)
        if best is not None:
            where = trials.index.get_loc(best)
            ax.scatter([x[where]], [score[best]], s=130, facecolors="none", edgecolors="black", lw=1.4,
                       label="best trial")
        ax.set_xlabel(param)
        ax.grid(alpha=0.3)
    for ax in axes[len(params):]:
        ax.set_axis_off()
    for ax in axes[::columns]:
        ax.set_ylabel(metric)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6), fontsize=8,
               title="trial outcome" + (" (crosses on the bottom edge: no metric reported)" if score.isna().any()
                                        else ""), title_fontsize=8)
    fig.suptitle(title)
    return fig


def pair(trials: pd.DataFrame, params: tuple[str, str], metric: str, path: Path) -> Path:
    """Two hyperparameters against each other, each trial a point coloured by its best `metric`. No contour is
    interpolated between the points: with tens of trials an interpolated surface would be mostly invented."""
    return _write(draw_pair(trials, params, metric), path)


def draw_pair(trials: pd.DataFrame, params: tuple[str, str], metric: str) -> Figure:
    first, second = params
    title = f"{metric} over {first} and {second}"
    if trials.empty or not {first, second, metric} <= set(trials.columns):
        return _no_data_figure(title)
    data = trials.dropna(subset=[metric])
    if data.empty:
        return _no_data_figure(title)
    fig = Figure(layout="constrained", figsize=(6.5, 5))
    ax = fig.add_subplot()
    coordinates = []
    for param, which in ((first, "x"), (second, "y")):
        values = data[param]
        if _is_categorical(values):
            labels = values.map(_label)
            categories = sorted(labels.unique())
            coordinates.append(labels.map({c: i for i, c in enumerate(categories)}).to_numpy(float))
            getattr(ax, f"set_{which}ticks")(range(len(categories)), categories)
        else:
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            coordinates.append(numbers.to_numpy())
            _value_axis(ax, numbers, which)
    score = pd.to_numeric(data[metric], errors="coerce")
    points = ax.scatter(*coordinates, c=score, cmap="viridis", s=45, edgecolors="black", linewidths=0.4)
    fig.colorbar(points, ax=ax, label=metric)
    ax.set_xlabel(first)
    ax.set_ylabel(second)
    ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def pareto_front(trials: pd.DataFrame, objectives: list[tuple[str, str]], path: Path) -> Path:
    """Every trial at its objectives' values (its last reported ones), the Pareto front in colour and joined in the
    first objective's order; two objectives: one panel, more: a panel per pair of them (the front is over all of
    them, so in one pair a front trial can look beaten: it is better in another objective)."""
    return _write(draw_pareto_front(trials, objectives), path)


def draw_pareto_front(trials: pd.DataFrame, objectives: list[tuple[str, str]]) -> Figure:
    metrics = [metric for metric, _ in objectives]
    title = f"Pareto front over {', '.join(metrics)}"
    if trials.empty or len(objectives) < 2 or not set(metrics) <= set(trials.columns):
        return _no_data_figure(title)
    values = trials[metrics].apply(pd.to_numeric, errors="coerce")
    data = values.dropna()
    if data.empty:
        return _no_data_figure(title)
    front = non_dominated(data, [mode for _, mode in objectives])
    order = data[front].sort_values(metrics[0], ascending=objectives[0][1] == "min")
    pairs = [(i, j) for i in range(len(metrics)) for j in range(i + 1, len(metrics))]
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    fig = Figure(layout="constrained", figsize=(5.2 * columns if len(pairs) > 1 else 6.5, 4.3 * rows + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, (i, j) in zip(axes, pairs):
        (x, x_mode), (y, y_mode) = objectives[i], objectives[j]
        ax.scatter(data.loc[~front, x], data.loc[~front, y], color="tab:grey", alpha=0.6, s=26,
                   label=f"other trials ({int((~front).sum())})")
        ax.plot(order[x], order[y], "o--", color="tab:red", markersize=7, lw=1, label=f"Pareto front ({len(order)})")
        for axis_values, which in ((data[x], "x"), (data[y], "y")):
            if _spans_decades(axis_values):
                _log_scale(ax, which)
        ax.set_xlabel(f"{x} ({'higher' if x_mode == 'max' else 'lower'} is better)")
        ax.set_ylabel(f"{y} ({'higher' if y_mode == 'max' else 'lower'} is better)")
        ax.grid(alpha=0.3)
    for ax in axes[len(pairs):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=8)
    left_out = len(values) - len(data)
    notes = ([f"{left_out} trials without every value left out"] if left_out else []) + (
        [f"the front over all {len(metrics)}: in one pair a front trial can look beaten"] if len(pairs) > 1 else [])
    fig.suptitle(title + (f"\n({'; '.join(notes)})" if notes else ""))
    return fig

"""`tunebench report` draws what a search's design supports: one-factor tables and curves where one hyperparameter
moved alone (grid, coordinate), slice plots where every trial drew every key (optuna, random), importance only over
enough trials; epoch axes in whole epochs, log axes labelled at powers of ten, tables that fit the page, and the
per-class table's accuracy row counted in test images.

The searches are recorded straight into a real SQLite MLflow store, as a search records them (parent run with its
`search` tag and swept keys, trial runs with their params, per-epoch metrics, outcome), so the report reads real
records without the minutes a real search takes (tests/test_study_report.py runs real ones)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from mlflow.tracking import MlflowClient

from tunebench import plots
from tunebench.cli import main
from tunebench.reports import IMPORTANCE_MIN_TRIALS, accuracy_row_fixed, classification_table

BENCHMARK = "alexnet-caltech"
TEST_IMAGES = 30


def _accuracy(config: dict) -> float:
    """A made-up val accuracy that depends on every key: best near lr 1e-2, step_size 10."""
    return 0.8 - 0.1 * abs(math.log10(config["lr"]) + 2) - 0.005 * abs(config["step_size"] - 10)


def _record(uri: str, search: str, configs: list[dict], tmp_path: Path) -> str:
    """A finished search of `configs` (one trial each, 3 epochs) as the MLflow callback records it; the parent run
    carries the best model's test predictions and a per-class CSV as written before the accuracy-row fix."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(BENCHMARK)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(BENCHMARK)
    parent = client.create_run(experiment_id, run_name=f"{search}-search",
                               tags={"benchmark": BENCHMARK, "search": search, "scheduler": "fifo"}).info.run_id
    client.log_param(parent, "swept", ",".join(configs[0]))
    for i, config in enumerate(configs):
        run = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent, "trial_id": f"t{i:02d}",
                                                     "outcome": "completed", "epochs_run": "3"}).info.run_id
        for key, value in config.items():
            client.log_param(run, key, value)
        final = _accuracy(config)
        for epoch in (1, 2, 3):
            acc = final * epoch / 3
            for key, value in (("val_acc", acc), ("val_loss", 2 - acc), ("train_acc", acc), ("train_loss", 2 - acc)):
                client.log_metric(run, key, value, step=epoch)
        client.log_metric(run, "best_val_acc", final)
        client.log_metric(run, "best_val_loss", 2 - final)
        client.set_terminated(run)
    rng = np.random.default_rng(0)
    classes = ["Faces", "airplanes", "ant"]
    true = [classes[i % 3] for i in range(TEST_IMAGES)]
    predicted = [t if rng.random() < 0.6 else classes[rng.integers(3)] for t in true]
    predictions = pd.DataFrame({"file": [f"img{i}.jpg" for i in range(TEST_IMAGES)], "true": true,
                                "predicted": predicted})
    folder = tmp_path / f"artifacts-{search}"
    folder.mkdir()
    predictions.to_csv(folder / "test_predictions.csv", index=False)
    old = classification_table(true, predicted)  # the table as written before: accuracy in every column
    accuracy = old.loc[old["class"] == "accuracy", "f1-score"].iloc[0]
    old.loc[old["class"] == "accuracy", ["precision", "recall", "support"]] = accuracy
    old.to_csv(folder / "test_classification_report.csv", index=False)
    for name in ("test_predictions.csv", "test_classification_report.csv"):
        client.log_artifact(parent, str(folder / name))
    client.set_terminated(parent)
    return parent


def _report(uri: str, parent: str, output: Path) -> tuple[str, set[str]]:
    assert main(["report", BENCHMARK, "--search", parent, "--tracking-uri", uri, "--output", str(output)]) == 0
    return (output / "report.md").read_text(), {p.name for p in output.glob("*.png")}


def _sampled(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"lr": float(10 ** rng.uniform(-4, -1)), "step_size": int(rng.choice([5, 10, 15, 20])),
             "weight_decay": float(10 ** rng.uniform(-6, -3))} for _ in range(n)]


def test_sampled_searches_get_slices_and_importance_only_over_enough_trials(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    many = _record(uri, "optuna", _sampled(IMPORTANCE_MIN_TRIALS + 2), tmp_path)
    few = _record(uri, "random", _sampled(4, seed=1), tmp_path)

    markdown, pngs = _report(uri, many, tmp_path / "many")
    assert "## Slices" in markdown and "slices.png" in pngs
    assert "## One factor" not in markdown and not any(p.startswith("one_factor") for p in pngs)
    assert {"importance.png", "pair.png"} <= pngs  # enough trials: importance, and its two leading keys
    assert f"over the {IMPORTANCE_MIN_TRIALS + 2} finished trials" in markdown and "rough guide" in markdown

    markdown, pngs = _report(uri, few, tmp_path / "few")
    assert "## Slices" in markdown and "## One factor" not in markdown
    assert f"Too few trials for importance: 4 finished, needs at least {IMPORTANCE_MIN_TRIALS}." in markdown
    assert "importance.png" not in pngs and "pair.png" not in pngs


def _section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _table(section: str) -> pd.DataFrame:
    lines = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return pd.DataFrame(cells[2:], columns=cells[0])


def test_grid_and_coordinate_searches_get_one_factor_plots_where_one_key_moved(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    grid = _record(uri, "grid", [{"lr": lr, "step_size": s} for lr, s in itertools.product((1e-3, 1e-2, 1e-1), (5, 10))],
                   tmp_path)
    # keep the best, search the next: lr at step_size 5, then step_size at the winning lr (its 5 ran already)
    rounds = [{"lr": lr, "step_size": 5} for lr in (1e-3, 1e-2, 1e-1)] + [{"lr": 1e-2, "step_size": s} for s in (10, 20)]
    coordinate = _record(uri, "coordinate", rounds, tmp_path)

    markdown, pngs = _report(uri, grid, tmp_path / "grid")
    assert {"one_factor_lr.png", "one_factor_step_size.png"} <= pngs and "slices.png" not in pngs
    lr = _section(markdown, "One factor: lr")
    assert "step_size=10" in lr  # the grid's row through the best trial (lr 1e-2, step_size 10)
    assert _table(lr)["lr"].tolist() == ["0.001", "0.01", "0.1"] and set(_table(lr)["trials"]) == {"1"}
    assert "Too few trials for importance: 6 finished" in markdown

    markdown, pngs = _report(uri, coordinate, tmp_path / "coordinate")
    assert {"one_factor_lr.png", "one_factor_step_size.png"} <= pngs and "slices.png" not in pngs
    assert "step_size=5" in _section(markdown, "One factor: lr")
    step = _section(markdown, "One factor: step_size")
    assert "lr=0.01" in step and _table(step)["step_size"].tolist() == ["5", "10", "20"]


def test_per_class_table_counts_test_images_and_tables_fit_the_page(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    parent = _record(uri, "grid", [{"lr": lr, "step_size": 10} for lr in (1e-3, 1e-2)], tmp_path)
    markdown, _ = _report(uri, parent, tmp_path / "out")
    per_class = _table(_section(markdown, "Per-class precision, recall and F1 (test split)")).set_index("class")
    accuracy = per_class.loc["accuracy"]
    assert accuracy["support"] == str(TEST_IMAGES) and accuracy["precision"] == accuracy["recall"] == ""
    assert 0 < float(accuracy["f1-score"]) <= 1
    trials = _table(_section(markdown, "Trials (best first)"))
    assert "lr" in trials and "step_size" not in trials  # a key that never moved is said once, not in every row
    assert "The same in every trial: step_size=10." in _section(markdown, "Trials (best first)")
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<table") == page.count('<div class="table"><table') > 0  # each table scrolls in its box
    assert ".table{overflow-x:auto" in page


def test_classification_table_accuracy_row():
    true = ["a", "a", "b", "c", "c", "c"]
    table = classification_table(true, ["a", "b", "b", "c", "a", "c"]).set_index("class")
    assert table.loc["accuracy", "support"] == len(true)
    assert table.loc["accuracy", "f1-score"] == pytest.approx(4 / 6)
    assert table.loc["accuracy", ["precision", "recall"]].isna().all()
    assert table.loc["macro avg", "support"] == len(true)
    again = accuracy_row_fixed(table.reset_index()).set_index("class")  # repairing twice changes nothing
    pd.testing.assert_frame_equal(again, table)


def _rendered(fig):
    FigureCanvasAgg(fig).draw()
    return fig


def _overlapping(texts) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent()) for t in texts if t.get_visible() and t.get_text()]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


def test_epoch_axes_tick_whole_epochs():
    curves = pd.DataFrame([dict(trial=f"t{t}", epoch=e, val_loss=1 / e + t, val_acc=0.1 * e, rank=t + 1)
                           for t in range(2) for e in (1, 2, 3)])
    progress = pd.DataFrame(dict(cumulative_epochs=[1, 2, 3], cumulative_time_s=[10.0, 20.0, 30.0],
                                 best=[0.2, 0.3, 0.3]))
    axes = [*_rendered(plots.draw_learning_curves(curves)).axes, _rendered(plots.draw_best_so_far(progress,
                                                                                                    "val_acc")).axes[0]]
    for ax in axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks


def test_log_axes_label_powers_of_ten_without_overlap():
    rng = np.random.default_rng(3)
    trials = pd.DataFrame({"weight_decay": 10 ** rng.uniform(-6, -3, 15), "lr": 10 ** rng.uniform(-4, -1, 15),
                           "val_acc": rng.uniform(0.2, 0.8, 15), "outcome": "completed"})
    fig = _rendered(plots.draw_slices(trials, ["weight_decay", "lr"], "val_acc"))
    for ax in fig.axes[:2]:
        assert ax.get_xscale() == "log"
        low, high = ax.get_xlim()
        shown = [t for t in ax.get_xticks() if low <= t <= high]
        assert shown and all(float(np.log10(t)).is_integer() for t in shown)
        assert not _overlapping([*ax.get_xticklabels(), *ax.get_xticklabels(minor=True)])
    table = pd.DataFrame({"weight_decay": [5e-4, 5e-5, 5e-6], "val_loss": [2.1, 1.5, 1.2], "val_acc": [0.3, 0.5, 0.6]})
    for ax in _rendered(plots.draw_one_factor(table, "weight_decay")).axes:
        assert ax.get_xscale() == "log"
        assert not _overlapping([*ax.get_xticklabels(), *ax.get_xticklabels(minor=True)])


def test_parallel_coordinates_labels_do_not_overlap():
    """Close values on one axis (0.432 and 0.433, as an optuna search's dropouts came out) keep one label."""
    trials = pd.DataFrame({"dropout": [0.106, 0.2244, 0.2635, 0.3093, 0.432, 0.433],
                           "val_acc": [0.181, 0.189, 0.475, 0.218, 0.3, 0.31]})
    fig = _rendered(plots.draw_parallel_coordinates(trials, ["dropout"], "val_acc"))
    ax = fig.axes[0]
    for position in (0, 1):
        labels = [t for t in ax.texts if round(t.get_position()[0] - 0.03) == position]
        assert labels and not _overlapping(labels)
        values = [float(t.get_text()) for t in labels]  # the ends stay labelled
        column = trials.iloc[:, position]
        assert math.isclose(min(values), column.min(), rel_tol=1e-2)
        assert math.isclose(max(values), column.max(), rel_tol=1e-2)

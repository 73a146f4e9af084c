"""Pure data: tables computed from a search's results (no training, no drawing, no MLflow calls)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

EPOCH_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time_s", "images_per_s")


def trial_outcome(last_result: Mapping[str, Any] | None, max_epochs: int, error: bool = False) -> str:
    """How a trial ended: completed, early-stopped (patience), stopped by the scheduler, or error."""
    if error:
        return "error"
    if not last_result:
        return "no result"
    if last_result.get("early_stop"):
        return "early-stopped"
    if last_result.get("epoch", 0) >= max_epochs:
        return "completed"
    return "stopped by scheduler"


def best_epoch(history: pd.DataFrame, metric: str, mode: str) -> pd.Series:
    """The row of a trial's per-epoch history where `metric` was best."""
    index = history[metric].idxmax() if mode == "max" else history[metric].idxmin()
    return history.loc[index]


def trials_table(trials: Iterable[tuple[str, Mapping[str, Any], pd.DataFrame, bool]], swept: Sequence[str],
                 metric: str, mode: str, max_epochs: int) -> pd.DataFrame:
    """One row per trial: its swept hyperparameters, val loss/acc at its best epoch, epochs run, outcome.

    `trials` yields (trial_id, config, per-epoch history, errored). Sorted best first.
    """
    rows = []
    for trial_id, config, history, errored in trials:
        row: dict[str, Any] = {"trial": trial_id, **{key: config.get(key) for key in swept}}
        if history is not None and len(history) and metric in history:
            best = best_epoch(history, metric, mode)
            row.update(val_loss=best.get("val_loss"), val_acc=best.get("val_acc"), best_epoch=int(best["epoch"]),
                       epochs=int(history["epoch"].max()))
            last = history.iloc[-1].to_dict()
        else:
            row.update(val_loss=None, val_acc=None, best_epoch=None, epochs=0)
            last = None
        row["outcome"] = trial_outcome(last, max_epochs, errored)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(metric, ascending=(mode == "min"), na_position="last").reset_index(drop=True)


def search_summary(table: pd.DataFrame, metric: str) -> dict[str, float]:
    """The numbers a search's parent run carries: best values, trials run, stopped early, failed, epochs."""
    return {f"best_{metric}": table[metric].iloc[0], "best_val_loss": table["val_loss"].iloc[0],
            "trials": len(table),
            "trials_stopped_early": int(table["outcome"].isin(["stopped by scheduler", "early-stopped"]).sum()),
            "trials_failed": int((table["outcome"] == "error").sum()), "epochs_total": int(table["epochs"].sum())}


def reference_table(reference: Mapping[str, float], test_acc: float | None = None) -> pd.DataFrame:
    """The report's published test accuracies, with this search's best test accuracy beside them."""
    table = pd.DataFrame({"report": list(reference), "test_acc": list(reference.values())})
    if test_acc is not None:
        table["this search - report"] = test_acc - table["test_acc"]
    return table

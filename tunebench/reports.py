"""Pure data: tables computed from a search's results (no training, no drawing, no MLflow calls)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

EPOCH_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_recall", "val_macro_f1", "lr",
                 "trainable_params", "stage", "epoch_time_s", "images_per_s", "feature_dim")
EXECUTION_METRIC = "val_acc_execution_"  # + index: one per training of a configuration (executions > 1)
BEST_EPOCH_COLUMNS = ("val_loss", "val_acc", "val_macro_recall", "val_macro_f1")


def epoch_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """The per-epoch numbers of a trial's result that MLflow records."""
    return {k: v for k, v in result.items() if k in EPOCH_METRICS or k.startswith(EXECUTION_METRIC)}


def trial_outcome(last_result: Mapping[str, Any] | None, max_epochs: int, error: bool = False) -> str:
    """How a trial ended: completed, early-stopped (patience), stopped by the scheduler, or error."""
    if error:
        return "error"
    if not last_result:
        return "no result"
    if last_result.get("early_stop"):
        return "early-stopped"
    if last_result.get("epoch", 0) >= last_result.get("planned_epochs", max_epochs):
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
            row.update({key: best.get(key) for key in (*BEST_EPOCH_COLUMNS, metric) if key in history})
            row.update(best_epoch=int(best["epoch"]), epochs=int(history["epoch"].max()))
            last = history.iloc[-1].to_dict()
        else:
            row.update({key: None for key in ("val_loss", "val_acc", metric)}, best_epoch=None, epochs=0)
            last = None
        row["outcome"] = trial_outcome(last, max_epochs, errored)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(metric, ascending=(mode == "min"), na_position="last").reset_index(drop=True)


def search_summary(table: pd.DataFrame, metric: str) -> dict[str, float]:
    """The numbers a search's parent run carries: best values, trials run, stopped early, failed, epochs."""
    return {f"best_{metric}": table[metric].iloc[0], "best_val_loss": table.get("val_loss", pd.Series([None])).iloc[0],
            "trials": len(table),
            "trials_stopped_early": int(table["outcome"].isin(["stopped by scheduler", "early-stopped"]).sum()),
            "trials_failed": int((table["outcome"] == "error").sum()), "epochs_total": int(table["epochs"].sum())}


def reference_table(reference: Mapping[str, float], test_acc: float | None = None) -> pd.DataFrame:
    """The report's published test accuracies, with this search's best test accuracy beside them."""
    table = pd.DataFrame({"report": list(reference), "test_acc": list(reference.values())})
    if test_acc is not None:
        table["this search - report"] = test_acc - table["test_acc"]
    return table


def classification_table(true: Sequence[str], predicted: Sequence[str]) -> pd.DataFrame:
    """scikit-learn's classification report as a table: precision, recall, F1 and support per class, then
    accuracy and the macro and weighted averages."""
    from sklearn.metrics import classification_report

    report = classification_report(true, predicted, output_dict=True, zero_division=0)
    table = pd.DataFrame(report).transpose()
    table.index.name = "class"
    return table.reset_index()

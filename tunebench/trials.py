"""The trial vocabulary: what a trial reports each epoch, which of those numbers keep a best value, and the words
for how a trial ended. The MLflow callback writes them and the reports read them back: both import them from here.
"""

from __future__ import annotations

from typing import Any, Mapping

STAGE_TESTS = ("stage1_test_loss", "stage1_test_acc", "stage2_test_loss", "stage2_test_acc")
"""A two-stage trial's test split at the end of each stage (tunebench study scores it in the trial)."""
EPOCH_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_recall", "val_macro_f1", "lr",
                 "trainable_params", "model_mb", "stage", "epoch_time_s", "images_per_s", "data_wait_frac",
                 "feature_dim", *STAGE_TESTS)
OBJECTIVE_ALIASES = {"epoch_seconds": "epoch_time_s", "model_size_mb": "model_mb"}
"""Other names `search --objective` takes for a per-epoch metric (every EPOCH_METRICS name is one)."""
EXECUTION_METRIC = "val_acc_execution_"  # + index: one per training of a configuration (executions > 1)
EPOCH_KEY = "val_acc"  # every trainer reports it every epoch: its history says which epochs a run holds

ROWS_KEY = "study_rows"  # a study row's config: the table rows it stands for (its run's name; not a hyperparameter)

BEST_OF = {"val_acc": max, "val_loss": min, "val_macro_recall": max, "val_macro_f1": max}
"""The per-epoch numbers whose best value a trial run keeps as best_<key>, and which way is better."""

COMPLETED = "completed"
EARLY_STOPPED = "early-stopped"            # the trial's own patience
STOPPED_BY_SCHEDULER = "stopped by scheduler"
STOPPED_BY_BUDGET = "stopped by the time budget"  # --time-budget ran out while the trial ran
ERROR = "error"
NO_RESULT = "no result"
STOPPED_EARLY = (STOPPED_BY_SCHEDULER, EARLY_STOPPED)


def objective_metric(name: str) -> str | None:
    """The per-epoch metric an objective names (`search --objective NAME:MODE`; an alias resolved), None when a
    trial reports no such metric."""
    name = OBJECTIVE_ALIASES.get(name, name)
    return name if name in EPOCH_METRICS else None


def epoch_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """The per-epoch numbers of a trial's result that MLflow records."""
    return {k: v for k, v in result.items() if k in EPOCH_METRICS or k.startswith(EXECUTION_METRIC)}


def best_so_far(best: Mapping[str, float], metrics: Mapping[str, float]) -> dict[str, float]:
    """A trial's best_val_acc, best_val_loss, ... updated with one epoch's metrics (logged on its run at the end)."""
    updated = dict(best)
    for key, better in BEST_OF.items():
        if metrics.get(key) is not None:
            updated[f"best_{key}"] = better(updated.get(f"best_{key}", metrics[key]), metrics[key])
    return updated


def trial_outcome(last_result: Mapping[str, Any] | None, max_epochs: int, error: bool = False) -> str:
    """How a trial ended: completed, early-stopped (patience), stopped by the scheduler, or error."""
    if error:
        return ERROR
    if not last_result:
        return NO_RESULT
    if last_result.get("early_stop"):
        return EARLY_STOPPED
    if last_result.get("epoch", 0) >= last_result.get("planned_epochs", max_epochs):
        return COMPLETED
    return STOPPED_BY_SCHEDULER

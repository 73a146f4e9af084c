"""The results table: best epoch per trial, how each trial ended, best first."""

from __future__ import annotations

import pandas as pd

from tunebench.reports import reference_table, search_summary, trials_table


def _history(accs, early_stop_last=False):
    n = len(accs)
    return pd.DataFrame({"epoch": range(1, n + 1), "val_acc": accs, "val_loss": [1 - a for a in accs],
                         "early_stop": [0] * (n - 1) + [int(early_stop_last)]})


def test_trials_table_rows_outcomes_and_order():
    trials = [
        ("a", {"lr": 0.1}, _history([0.2, 0.5, 0.4]), False),           # all 3 epochs, best at 2
        ("b", {"lr": 0.01}, _history([0.6]), False),                     # cut by the scheduler after 1
        ("c", {"lr": 0.001}, _history([0.1, 0.1], early_stop_last=True), False),
        ("d", {"lr": 1.0}, pd.DataFrame(), True),                         # raised before reporting
    ]
    table = trials_table(trials, ["lr"], "val_acc", "max", max_epochs=3)
    assert list(table["trial"]) == ["b", "a", "c", "d"]
    a = table.set_index("trial").loc["a"]
    assert (a["val_acc"], a["val_loss"], a["best_epoch"], a["epochs"]) == (0.5, 0.5, 2, 3)
    assert dict(zip(table["trial"], table["outcome"])) == {
        "a": "completed", "b": "stopped by scheduler", "c": "early-stopped", "d": "error"}
    summary = search_summary(table, "val_acc")
    assert summary == {"best_val_acc": 0.6, "best_val_loss": 0.4, "trials": 4, "trials_stopped_early": 2,
                       "trials_failed": 1, "epochs_total": 6}


def test_reference_table_difference():
    table = reference_table({"scratch": 0.41, "pretrained": 0.81}, test_acc=0.5)
    assert table["this search - report"].round(2).tolist() == [0.09, -0.31]


def test_outcome_follows_the_epochs_the_trial_planned():
    from tunebench.reports import trial_outcome

    # a two-stage transfer trial plans 3 + 3 epochs under a 13-epoch cap; ASHA's last result says done too
    assert trial_outcome({"epoch": 6, "planned_epochs": 6, "done": True}, max_epochs=13) == "completed"
    assert trial_outcome({"epoch": 1, "planned_epochs": 6, "done": True}, max_epochs=13) == "stopped by scheduler"

"""The trial vocabulary: how a trial ended, and its best values so far."""

from __future__ import annotations

from tunebench.trials import best_so_far, trial_outcome


def test_outcome_follows_the_epochs_the_trial_planned():
    # a two-stage transfer trial plans 3 + 3 epochs under a 13-epoch cap; ASHA's last result says done too
    assert trial_outcome({"epoch": 6, "planned_epochs": 6, "done": True}, max_epochs=13) == "completed"
    assert trial_outcome({"epoch": 1, "planned_epochs": 6, "done": True}, max_epochs=13) == "stopped by scheduler"


def test_best_so_far_keeps_each_metrics_better_value():
    best = best_so_far({}, {"val_acc": 0.4, "val_loss": 1.0})
    best = best_so_far(best, {"val_acc": 0.3, "val_loss": 0.8})
    assert best == {"best_val_acc": 0.4, "best_val_loss": 0.8}

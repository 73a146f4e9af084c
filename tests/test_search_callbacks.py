"""The search's Tune callbacks: trial runs found in MLflow by their tags (the one record of which run is whose), an
epoch logged once, runs of trials Ray Tune never saved removed on resume, runs a killed driver left RUNNING closed."""

from __future__ import annotations

from mlflow.tracking import MlflowClient
from ray.tune.experiment import Trial

from tunebench.tracking import Tracker
from tunebench.search.callbacks import TrialRuns


def _trial(trial_id: str, lr: float = 0.1) -> Trial:
    return Trial("TrialTrainable", config={"lr": lr, "epochs": 3}, trial_id=trial_id, stub=True)


def _result(epoch: int, val_acc: float) -> dict:
    return {"epoch": epoch, "training_iteration": epoch, "val_acc": val_acc, "val_loss": 1.0 / epoch}


def _search(uri: str) -> tuple[Tracker, str, str]:
    tracker = Tracker(uri)
    experiment_id = tracker.experiment_id("alexnet-caltech")
    return tracker, experiment_id, tracker.start_run(experiment_id, "search", {}, {"benchmark": "alexnet-caltech"})


def test_a_restored_callback_finds_each_trials_run_in_mlflow_and_logs_each_epoch_once(tracking_uri):
    tracker, experiment_id, parent = _search(tracking_uri)
    first = TrialRuns(tracker, experiment_id, parent)
    kept, lost = _trial("kept0001"), _trial("lost0001", lr=0.01)
    for trial in (kept, lost):
        first.on_trial_start(0, [kept, lost], trial)
    first.on_trial_result(0, [kept, lost], kept, _result(1, 0.5))
    first.on_trial_result(0, [kept, lost], kept, _result(2, 0.6))
    # the driver dies; Ray Tune's saved state knows `kept` (at its epoch-1 checkpoint) but never saved `lost`
    restored = TrialRuns(tracker, experiment_id, parent)
    restored.on_step_begin(0, [kept])
    restored.on_trial_start(0, [kept], kept)
    restored.on_trial_result(0, [kept], kept, _result(2, 0.6))  # epoch 2 again, from the epoch-1 checkpoint
    restored.on_trial_result(0, [kept], kept, _result(3, 0.7))
    kept.update_last_result({"epoch": 3, "planned_epochs": 3})
    restored.on_trial_complete(0, [kept], kept)

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([experiment_id], "tags.trial_id != ''")
    assert [r.data.tags["trial_id"] for r in runs] == ["kept0001"]  # the lost trial's run is gone
    [run] = runs
    assert run.info.status == "FINISHED" and run.data.params["lr"] == "0.1"
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_acc")] == \
        [(1, 0.5), (2, 0.6), (3, 0.7)]
    assert run.data.metrics["best_val_acc"] == 0.7 and run.data.tags["outcome"] == "completed"


def test_runs_left_running_by_a_killed_driver_are_closed(tracking_uri):
    tracker, experiment_id, parent = _search(tracking_uri)
    runs = TrialRuns(tracker, experiment_id, parent)
    trials = [_trial("a0000001"), _trial("b0000001")]
    for trial in trials:
        runs.on_trial_start(0, trials, trial)
    trials[0].update_last_result({"epoch": 3, "planned_epochs": 3})
    runs.on_trial_complete(0, trials, trials[0])
    assert tracker.close_running(experiment_id, parent) == 1
    statuses = {r.data.tags["trial_id"]: r.info.status
                for r in tracker.trial_runs(experiment_id, parent).values()}
    assert statuses == {"a0000001": "FINISHED", "b0000001": "KILLED"}

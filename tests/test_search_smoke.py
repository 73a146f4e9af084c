"""`tunebench search alexnet-caltech --smoke` end to end: a real local Ray, a real SQLite MLflow store."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tunebench.cli import main
from tunebench.data.cache import cache_root
from tunebench.reports import format_value, parse_param

OUTCOMES = {"completed", "stopped by scheduler", "early-stopped"}


@pytest.mark.slow
@pytest.mark.parametrize("pipeline", ["naive", "cached"])  # real Caltech101: tests/test_study_smoke.py
def test_smoke_search_records_everything(ray_local, in_tmp, tracking_uri, caltech_session_tree, pipeline, capsys):
    code = main(["search", "alexnet-caltech", "--smoke", "--data-dir", str(caltech_session_tree),
                 "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray"), "--name", "smoke",
                 "--data-pipeline", pipeline])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert "Trials (best first)" in out and "report: no matching report row" in out and "test: loss" in out
    # where the results go, said at the start and at the end
    assert f"trials and checkpoints: {in_tmp / 'ray' / 'smoke'}" in out
    assert out.count(f"tunebench ui --tracking-uri {tracking_uri}") == 2 and "mlflow ui" not in out
    # tunebench's own lines, not Ray's status table: an estimate after the first epoch, a line per trial event
    assert "== Status ==" not in out and "Trial name" not in out and "Result logdir" not in out
    assert "first epoch: " in out and "The whole search: about " in out and "with ASHA stopping" in out
    assert "trial 001 " in out and "trial 002 " in out and out.count(" started: lr=") == 2
    assert len(out.splitlines()) < 40, out

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("alexnet-caltech")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.info.run_name == "smoke"
    assert parent.data.tags["benchmark"] == "alexnet-caltech"
    assert parent.data.tags["search"] == "optuna" and parent.data.tags["scheduler"] == "asha"
    assert {"git_commit", "tunebench_version"} <= set(parent.data.tags)
    assert 0.0 <= parent.data.metrics["test_acc"] <= 1.0 and parent.data.metrics["test_loss"] > 0

    assert parent.data.tags["mlflow.note.content"].startswith(
        "optuna (tpe) search over lr, step_size, weight_decay, gamma (asha): 2 trials of at most 2 epochs, alexnet on "
        "caltech101")
    assert len(children) == 2 == parent.data.metrics["trials"]
    # in MLflow's UI: trials named after their search and number, their swept values as the description
    assert sorted(child.info.run_name for child in children) == ["smoke-001", "smoke-002"]
    for child in children:
        assert child.data.tags["mlflow.note.content"] == ", ".join(
            f"{key}={format_value(parse_param(child.data.params[key]))}"
            for key in ("lr", "step_size", "weight_decay", "gamma"))
    best_child = 0.0
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED" and child.data.tags["outcome"] in OUTCOMES
        assert {"lr", "step_size", "weight_decay", "gamma", "batch_size", "model"} <= set(child.data.params)
        # what ran on the trial's device: this CPU-only machine runs plain fp32 eager
        assert child.data.params["data_pipeline"] == pipeline
        assert child.data.params["precision"] == "fp32"
        assert child.data.params["channels_last"] == child.data.params["compile"] == "False"
        history = client.get_metric_history(child.info.run_id, "val_acc")
        epochs = int(child.data.tags["epochs_run"])
        assert sorted(m.step for m in history) == list(range(1, epochs + 1))
        for metric in ("train_loss", "train_acc", "val_loss", "lr", "epoch_time_s", "images_per_s", "data_wait_frac"):
            assert len(client.get_metric_history(child.info.run_id, metric)) == epochs
        best_child = max(best_child, *(m.value for m in history))
    assert parent.data.metrics["best_val_acc"] == pytest.approx(best_child)
    # the trials' totals on the parent run (what `tunebench compare` reads instead of the trial runs)
    assert parent.data.metrics["epochs_total"] == sum(int(c.data.tags["epochs_run"]) for c in children)
    hours = sum((c.info.end_time - c.info.start_time) / 3.6e6 for c in children)
    assert parent.data.metrics["trial_hours"] == pytest.approx(hours)
    assert parent.data.metrics["best_val_macro_f1"] == pytest.approx(
        max(c.data.metrics["best_val_macro_f1"] for c in children))

    results = pd.read_csv(in_tmp / "ray" / "smoke" / "results.csv")
    assert len(results) == 2
    assert {"lr", "step_size", "weight_decay", "gamma", "val_loss", "val_acc", "epochs", "outcome"} <= set(results)
    assert results["val_acc"].iloc[0] == pytest.approx(best_child)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.csv", "test_predictions.csv"} <= artifacts
    if pipeline == "cached":  # the trials decoded the training split once, into the node's cache
        assert list((cache_root() / "images" / "caltech101").glob("train-64px-crop-rgb-*.npy"))
    assert "warning: skipped" in err and "image_0100.jpg" in err  # the truncated JPEG is named, on stderr


@pytest.mark.slow
def test_oneway_search_scores_every_trial_on_test(ray_local, in_tmp, tracking_uri, caltech_session_tree, capsys):
    """--search oneway runs the defaults, then each other value of a key with the rest at the defaults;
    --test all scores every trial at its best-validation epoch, on its run and in results.csv."""
    code = main(["search", "alexnet-caltech", "--smoke", "--search", "oneway", "--test", "all",
                 "--set", "step_size=20", "weight_decay=5e-5", "gamma=0.1", "lr=0.001,0.1",
                 "--data-dir", str(caltech_session_tree), "--tracking-uri", tracking_uri,
                 "--storage-path", str(in_tmp / "ray"), "--name", "oneway"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert "every trial on the test split (2)" in out
    results = pd.read_csv(in_tmp / "ray" / "oneway" / "results.csv")
    assert sorted(results["lr"]) == [0.001, 0.1]
    assert results[["test_acc", "test_loss", "test_macro_f1"]].notna().all().all()

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("alexnet-caltech")
    children = [r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 2
    for child in children:
        trial = child.data.tags["trial_id"]
        logged = results.set_index("trial").loc[trial, "test_acc"]
        assert child.data.metrics["test_acc"] == pytest.approx(logged)
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {f"{trial}_predictions.csv", f"{trial}_classification.csv"} <= artifacts
        predictions = pd.read_csv(in_tmp / "ray" / "oneway" / "test" / f"{trial}_predictions.csv")
        assert {"file", "true", "predicted", "confidence"} <= set(predictions)
        probabilities = predictions.filter(like="p(")
        assert probabilities.shape[1] == 3 and (probabilities.sum(axis=1) - 1).abs().max() < 1e-4
        assert (predictions["true"] == predictions["predicted"]).mean() == pytest.approx(logged)


@pytest.mark.slow
def test_time_budget_ends_a_search_as_a_finished_one(ray_local, in_tmp, tracking_uri, caltech_session_tree, capsys,
                                                     monkeypatch):
    """More trials and epochs than fit in the budget: no trial starts after it, the running ones stop, and the search
    ends as a finished one does, its records complete; --quiet prints only where the results are."""
    import time

    import optuna

    from tunebench.console import VERBOSITY_ENV

    monkeypatch.setenv(VERBOSITY_ENV, "normal")  # --quiet sets it for this process's Ray workers; put it back after
    budget = 40
    started = time.monotonic()
    code = main(["search", "alexnet-caltech", "--smoke", "--data-dir", str(caltech_session_tree), "--tracking-uri",
                 tracking_uri, "--storage-path", str(in_tmp / "ray"), "--name", "budget", "--num-samples", "200",
                 "--max-epochs", "50", "--scheduler", "fifo", "--time-budget", f"{budget}s", "--quiet"])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert took < budget + 150  # data, Ray, the test evaluation and the model around the budget
    assert [line for line in out.splitlines() if line.strip()] == [
        f"results: {in_tmp / 'ray' / 'budget' / 'results.csv'}", f"MLflow:  tunebench ui --tracking-uri {tracking_uri}"]

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert parent.info.status == "FINISHED" and 0 <= parent.data.metrics["test_acc"] <= 1
    assert parent.data.params["time_budget_s"] == str(float(budget))
    assert 1 <= len(children) < 200
    # none RUNNING, none KILLED: nothing to resume
    assert all(run.info.status == "FINISHED" for run in children), [(r.info.status, r.data.tags) for r in children]
    # no trial gets through 50 epochs in the budget: every one that started was stopped by it
    outcomes = [run.data.tags["outcome"] for run in children]
    assert set(outcomes) == {"stopped by the time budget"}
    results = pd.read_csv(in_tmp / "ray" / "budget" / "results.csv")
    assert sorted(results["outcome"]) == sorted(outcomes)  # the trials that ran; none that never started
    study = optuna.load_study(study_name="budget", storage=f"sqlite:///{in_tmp / 'optuna.db'}")
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]

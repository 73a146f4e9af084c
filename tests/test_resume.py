"""Interrupt a search (Ctrl-C or SIGKILL of the driver), then `--resume`: real processes, a real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

EPOCHS = 4


def _command(tmp_path, data, uri, *extra):
    return [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--max-epochs", str(EPOCHS),
            "--num-samples", "3", "--scheduler", "fifo", "--max-concurrent", "1", "--data-dir", str(data),
            "--tracking-uri", uri, "--storage-path", str(tmp_path / "ray"), "--name", "long", *extra]


def _trial_runs(client):
    experiment = client.get_experiment_by_name("alexnet-caltech")
    return [] if experiment is None else client.search_runs([experiment.experiment_id], "tags.trial_id != ''")


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL], ids=["sigkill"])  # more stops: tests/test_interruptions.py
def test_resume_continues_the_same_runs_without_retraining(tmp_path, caltech_session_tree, stop):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    client = MlflowClient(uri)
    process = subprocess.Popen(_command(tmp_path, caltech_session_tree, uri), cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:  # one trial finished, the next one under way
        runs = _trial_runs(client)
        if any(r.info.status == "FINISHED" for r in runs) and len(runs) >= 2:
            break
        time.sleep(0.5)
    assert process.poll() is None, process.communicate()[1][-2000:]
    finished_before = {r.info.run_id for r in _trial_runs(client) if r.info.status == "FINISHED"}
    process.send_signal(stop)
    _, err = process.communicate(timeout=180)
    if stop == signal.SIGINT:
        assert process.returncode == 130 and "--resume --name long" in err.strip().splitlines()[-1]

    resumed = subprocess.run(_command(tmp_path, caltech_session_tree, uri, "--resume"), cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    results = pd.read_csv(tmp_path / "ray" / "long" / "results.csv", dtype={"trial": str})
    assert len(results) == 3 and (results["epochs"] == EPOCHS).all()
    runs = _trial_runs(client)
    by_trial = {trial: [r for r in runs if r.data.tags["trial_id"] == trial] for trial in results["trial"]}
    assert all(len(found) == 1 and found[0].info.status == "FINISHED" for found in by_trial.values())  # exactly once
    # SIGKILL can land before Tune saved a just-started trial: its orphaned run is marked KILLED, never left RUNNING
    others = [r for r in runs if r.data.tags["trial_id"] not in by_trial]
    assert all(r.info.status == "KILLED" for r in others) and (stop == signal.SIGKILL or not others)
    runs = [found[0] for found in by_trial.values()]
    parents = [r for r in client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
               if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    for run in runs:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_acc")]
        assert sorted(steps) == list(range(1, EPOCHS + 1)), (run.data.tags["trial_id"], steps)  # none retrained
    assert finished_before <= {r.info.run_id for r in runs}


def test_resuming_a_name_that_does_not_exist_is_one_line(tmp_path, capsys):
    from tunebench.cli import main

    code = main(["search", "alexnet-caltech", "--resume", "--name", "nope", "--storage-path", str(tmp_path),
                 "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no search named 'nope'" in err[0]


@pytest.mark.slow
def test_a_trial_that_raises_is_retried_from_its_checkpoint(tmp_path, caltech_session_tree):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    marker = tmp_path / "failed-once"
    result = subprocess.run(
        [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--max-epochs", "4",
         "--num-samples", "1", "--max-failures", "1", "--data-dir", str(caltech_session_tree), "--tracking-uri", uri,
         "--storage-path", str(tmp_path / "ray"), "--name", "flaky"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TUNEBENCH_TEST_FAIL_ONCE": f"{marker}:3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.exists()  # it did fail at epoch 3
    [run] = _trial_runs(MlflowClient(uri))
    assert run.info.status == "FINISHED"
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.info.run_id, "val_acc")]
    assert sorted(steps) == [1, 2, 3, 4]  # epochs 1-2 came back from the checkpoint, not retrained


def test_a_corrupt_checkpoint_restarts_the_trial_with_a_warning(ray_local, caltech_tree, tmp_path):
    from ray import tune

    from search_spaces import BENCHMARKS
    from tunebench.data import build_dataset
    from tunebench.trainable import STATE_FILE, TrialTrainable

    config = {**BENCHMARKS["alexnet-caltech"].defaults, "model": "tiny-cnn", "epochs": 3, "seed": 0,
              "image_size": 32, "batch_size": 8}
    trainable_cls = tune.with_parameters(TrialTrainable, splits=build_dataset("caltech101", caltech_tree))
    first = trainable_cls(config)
    first.train()
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    first.save_checkpoint(str(folder))
    (folder / STATE_FILE).write_bytes((folder / STATE_FILE).read_bytes()[:100])  # truncated
    second = trainable_cls(config)
    with pytest.warns(UserWarning, match="restarts from epoch 0"):
        second.load_checkpoint(str(folder))
    assert second.train()["epoch"] == 1
    first.stop()
    second.stop()


@pytest.mark.slow
def test_a_trial_that_keeps_failing_ends_failed_with_its_reason_and_the_search_goes_on(tmp_path, caltech_session_tree):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--max-epochs", "2",
         "--num-samples", "1", "--data-dir", str(caltech_session_tree), "--tracking-uri", uri,
         "--storage-path", str(tmp_path / "ray"), "--name", "failing"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TUNEBENCH_TEST_FAIL_ONCE": f"{tmp_path / 'failed'}:2"})
    assert result.returncode == 0, result.stderr[-3000:]  # epoch 1 was recorded: the search still reports it
    [run] = _trial_runs(MlflowClient(uri))
    assert run.info.status == "FAILED" and "failing once at epoch 2" in run.data.tags["error"]
    assert run.data.tags["outcome"] == "error"


@pytest.mark.parametrize("module, name", [
    ("tunebench.tune_callbacks", "TrialRuns"), ("tunebench.tune_callbacks", "InterruptWatch"),
    ("tunebench.tracking", "TrialRuns"), ("tunebench.optuna_search", "DistinctOptunaSearch"),
    ("tunebench.coordinate_search", "CoordinateSearch"), ("tunebench.search", "_trial_dirname")])
def test_what_earlier_versions_pickled_is_found_when_their_search_resumes(module, name):
    """Ray Tune pickles a search's callbacks, searcher and trial-folder function by their import paths; a search
    started before those moved into tunebench.search resumes, so the old paths must still lead to them."""
    import pickle

    from tunebench.search.compat import old_names

    old_names()
    assert callable(pickle.loads(f"c{module}\n{name}\n.".encode()))

"""A search interrupted again and again at random moments, resumed each time, ends with records that can be
trusted: one MLflow run per trial under one parent, none RUNNING, every epoch once, results.csv complete, and the
same trials' results (so the same best trial) as an uninterrupted search with the same seed.

Real processes, a real local Ray, a real SQLite store; signals as a terminal, `kill`, `docker stop` and a batch
scheduler send them: to the driver alone or to its whole process group.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

EPOCHS = 4
GRID = ["lr=0.001,0.03,0.1", "step_size=2", "gamma=0.5", "weight_decay=5e-5"]  # three trials, in a fixed order
SWEPT = ["lr"]
# (signal, to the whole process group?): every kind of stop appears among the interruptions
STOPS = [(signal.SIGKILL, True), (signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True),
         (signal.SIGKILL, False), (signal.SIGHUP, False)]


def _command(storage: Path, data: Path, uri: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--search", "grid",
            "--set", *GRID, "--max-epochs", str(EPOCHS), "--max-concurrent", "1", "--seed", "3",
            "--data-dir", str(data), "--tracking-uri", uri, "--storage-path", str(storage), "--name", "stress", *extra]


def _epochs_logged(client: MlflowClient) -> int:
    experiment = client.get_experiment_by_name("alexnet-caltech")
    if experiment is None:
        return 0
    runs = client.search_runs([experiment.experiment_id], "tags.trial_id != ''")
    return sum(len(client.get_metric_history(r.info.run_id, "val_acc")) for r in runs)


def _interrupt(process: subprocess.Popen, stop: tuple[int, bool]) -> None:
    signum, group = stop
    if group:
        os.killpg(process.pid, signum)  # the search was started as the leader of its own group, as a shell does
    else:
        process.send_signal(signum)


def _results(storage: Path) -> pd.DataFrame:
    results = pd.read_csv(storage / "stress" / "results.csv", dtype={"trial": str})
    return results.sort_values(SWEPT).reset_index(drop=True)


@pytest.mark.slow
def test_repeated_interruptions_then_resume_leave_the_records_of_an_uninterrupted_search(tmp_path,
                                                                                         caltech_session_tree):
    rng = random.Random(20261129)
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    client = MlflowClient(uri)
    storage = tmp_path / "ray"
    stops = rng.sample(STOPS, 4)
    interrupted_with = []
    for round_, stop in enumerate(stops):
        started = (storage / "stress" / "tunebench_search.json").exists()  # else the last stop came before it
        command = _command(storage, caltech_session_tree, uri, *(["--resume"] if started else []))
        process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        if round_ == 0:  # somewhere in start-up: dataset check, cache build, Ray, the first trial's start
            time.sleep(rng.uniform(2.0, 12.0))
        else:  # somewhere in training: after a random number of further epochs, part way into the next one
            target = _epochs_logged(client) + rng.randint(1, 3)
            deadline = time.time() + 240
            while _epochs_logged(client) < target and process.poll() is None and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 1.5))
        if process.poll() is not None:
            break  # the search got to its end first
        _interrupt(process, stop)
        _, err = process.communicate(timeout=240)
        interrupted_with.append((signal.Signals(stop[0]).name, stop[1], process.returncode))
        if stop[0] != signal.SIGKILL:  # every stop but a kill is Ctrl-C: exit 130, the resume command, nothing RUNNING
            assert process.returncode == 130 and "Traceback" not in err, err[-3000:]
            last = err.strip().splitlines()[-1]
            if (storage / "stress" / "tunebench_search.json").exists():
                assert "--resume --name stress" in last, err[-3000:]
            else:  # stopped before the search existed: nothing to resume
                assert last == "tunebench: interrupted", err[-3000:]
            experiment = client.get_experiment_by_name("alexnet-caltech")
            runs = client.search_runs([experiment.experiment_id]) if experiment else []
            assert all(r.info.status != "RUNNING" for r in runs), [(r.info.run_id, r.info.status) for r in runs]
            assert all(r.info.status == "KILLED" for r in runs if "mlflow.parentRunId" not in r.data.tags)
    print("interruptions (signal, to the group, exit code):", interrupted_with)
    assert len(interrupted_with) >= 3, interrupted_with

    final = subprocess.run(_command(storage, caltech_session_tree, uri, "--resume"), cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, (interrupted_with, final.stderr[-3000:])

    results = _results(storage)
    assert len(results) == 3 and (results["epochs"] == EPOCHS).all(), results
    experiment = client.get_experiment_by_name("alexnet-caltech")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trials = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in trials)
    assert sorted(r.data.tags["trial_id"] for r in trials) == sorted(results["trial"]), interrupted_with
    assert all(r.info.status == "FINISHED" for r in trials), [(r.data.tags["trial_id"], r.info.status) for r in trials]
    for run in trials:
        for key in ("val_acc", "val_loss", "train_loss"):
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            assert sorted(steps) == list(range(1, EPOCHS + 1)), (run.data.tags["trial_id"], key, steps)

    # the same search, never interrupted: the same trials come out with the same results
    reference = tmp_path / "reference"
    straight = subprocess.run(_command(reference, caltech_session_tree, f"sqlite:///{tmp_path / 'reference.db'}"),
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = _results(reference)
    columns = [*SWEPT, "val_loss", "val_acc", "best_epoch", "epochs", "outcome"]
    pd.testing.assert_frame_equal(results[columns], expected[columns], rtol=1e-6)
    assert results.sort_values(["val_acc", "val_loss"], ascending=[False, True]).iloc[0][SWEPT].tolist() == \
        expected.sort_values(["val_acc", "val_loss"], ascending=[False, True]).iloc[0][SWEPT].tolist()

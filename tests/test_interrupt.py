"""Ctrl-C during a search, and SIGTERM or SIGHUP (docker stop, Slurm, Kubernetes, a closed terminal) to the driver
or to its whole process group, all alike: a one-line message, exit 130, nothing recorded lost, no run left RUNNING,
the resume command printed."""

from __future__ import annotations

import signal
import subprocess
import sys
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient


def _reported_epochs(client: MlflowClient) -> int:
    experiment = client.get_experiment_by_name("alexnet-caltech")
    if experiment is None:
        return 0
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.trial_id != ''")
    return sum(len(client.get_metric_history(r.info.run_id, "val_acc")) for r in runs)


# SIGHUP takes SIGTERM's path (tests/test_signals.py shows both raise what Ctrl-C raises); SIGINT, SIGHUP and more
# stops, with a resume after each: tests/test_interruptions.py
STOPS = [(signal.SIGTERM, False), (signal.SIGTERM, True)]


@pytest.mark.slow
@pytest.mark.parametrize("signum,group", STOPS, ids=["sigterm", "sigterm-to-group"])
def test_a_stop_signal_marks_runs_killed_and_keeps_results(tmp_path, caltech_session_tree, signum, group):
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--max-epochs", "200",
         "--num-samples", "3", "--scheduler", "fifo", "--data-dir", str(caltech_session_tree), "--tracking-uri", uri,
         "--storage-path", str(tmp_path / "ray"), "--name", "interrupted"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    client = MlflowClient(uri)
    deadline = time.time() + 180
    while _reported_epochs(client) < 2 and time.time() < deadline and process.poll() is None:
        time.sleep(1)
    assert process.poll() is None, process.communicate()[1][-2000:]
    if group:  # the search leads its own process group, as a shell's job does: every process in it gets the signal
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, err = process.communicate(timeout=180)

    assert process.returncode == 130, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("tunebench: error: interrupted:") and "KILLED" in last
    assert "tunebench search alexnet-caltech --resume --name interrupted" in last
    assert "Traceback" not in err and "SIGTERM received" not in err
    experiment = client.get_experiment_by_name("alexnet-caltech")
    runs = client.search_runs([experiment.experiment_id])
    assert runs and all(r.info.status != "RUNNING" for r in runs)
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert parent.info.status == "KILLED"
    assert any(r.info.status == "KILLED" for r in runs if "mlflow.parentRunId" in r.data.tags)
    results = pd.read_csv(tmp_path / "ray" / "interrupted" / "results.csv")
    assert results["val_acc"].notna().any()  # what was trained before the interrupt is kept


@pytest.mark.slow
def test_killing_tunebench_kills_the_search_it_runs(tmp_path, caltech_session_tree):
    """`tunebench search` supervises the driver in a process group of its own: a SIGKILL of tunebench must not
    leave that driver running the search unattended."""
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--max-epochs", "200",
         "--num-samples", "1", "--data-dir", str(caltech_session_tree), "--tracking-uri", uri,
         "--storage-path", str(tmp_path / "ray"), "--name", "killed"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.time() + 60
    while time.time() < deadline and not children.read_text().split():
        time.sleep(0.2)
    [driver] = [int(pid) for pid in children.read_text().split()]
    time.sleep(3)
    process.kill()
    process.wait(timeout=30)
    deadline = time.time() + 30
    while time.time() < deadline and _running(driver):
        time.sleep(0.2)
    assert not _running(driver), f"the driver {driver} outlived tunebench"


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False

"""The MLflow room: a new SQLite store opened by several searches at once (the trial runs it keeps for a search:
tests/test_search_callbacks.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[1]


WRITER = """
import sys, time
sys.path.insert(0, {repo!r})
from tunebench.tracking import Tracker
time.sleep(max(0.0, {start} - time.time()))  # every process opens the new store at the same moment
tracker = Tracker({uri!r})
experiment_id = tracker.experiment_id("alexnet-caltech")
run = tracker.start_run(experiment_id, "search", {{"lr": 0.1}}, {{"benchmark": "alexnet-caltech"}})
for step in range(1, 41):
    tracker.log_metrics(run, {{"val_acc": step / 40, "val_loss": 1 / step}}, step=step)
tracker.end_run(run)
"""


def test_searches_started_together_on_a_new_sqlite_store_all_succeed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'new.db'}"
    script = WRITER.format(repo=str(REPO), start=time.time() + 8, uri=uri)
    processes = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(6)]
    outcomes = [(p.wait(timeout=180), p.stderr.read()) for p in processes]
    assert all(code == 0 for code, _ in outcomes), [err[-800:] for code, err in outcomes if code]
    assert not any("database is locked" in err for _, err in outcomes)
    client = MlflowClient(uri)
    [experiment] = [e for e in client.search_experiments() if e.name == "alexnet-caltech"]
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 6 and all(r.info.status == "FINISHED" for r in runs)
    assert all(len(client.get_metric_history(r.info.run_id, "val_acc")) == 40 for r in runs)

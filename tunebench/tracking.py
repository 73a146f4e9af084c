"""The only module that talks to MLflow: one parent run per search, one nested child run per trial.

Trials are logged from the driver by a Tune callback, so workers never need to reach the tracking store.
"""

from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ray.tune import Callback

if TYPE_CHECKING:
    import pandas as pd

from tunebench import TunebenchError
from tunebench.reports import BEST_OF, PARENT_TAG, best_so_far, epoch_metrics, trial_outcome

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
_BATCH_LIMITS = {"metrics": 1000, "params": 100, "tags": 100}  # MLflow's log_batch limits per request
_BATCH_TOTAL = 1000


def _batch(items: list, size: int = 100):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextmanager
def _quick_http():
    """No retries and a short timeout: an unreachable server is reported in seconds, not minutes of retrying
    (later calls keep MLflow's retries, which ride out a server's brief hiccups during a long search)."""
    saved = {key: os.environ.get(key) for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Tracker:
    """An MLflow store, checked to be reachable before any trial starts."""

    def __init__(self, tracking_uri: str = DEFAULT_TRACKING_URI) -> None:
        from mlflow.tracking import MlflowClient

        for noisy in ("alembic", "mlflow"):  # database migrations log at INFO on a new store
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self.uri = tracking_uri
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri)
            with _quick_http():
                self.client.search_experiments(max_results=1)
        except Exception as exc:  # bad scheme, unreachable server, unwritable database...
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TunebenchError(f"cannot use MLflow tracking store {tracking_uri}: {message}") from None

    def experiment_id(self, name: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        return experiment.experiment_id if experiment else self.client.create_experiment(name)

    def start_run(self, experiment_id: str, run_name: str, params: Mapping[str, Any],
                  tags: Mapping[str, str]) -> str:
        run = self.client.create_run(experiment_id, run_name=run_name, tags={k: str(v) for k, v in tags.items()})
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.log_batch(run_id, params=params)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        self.log_batch(run_id, metrics=metrics, step=step)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.log_batch(run_id, tags=tags)

    def log_batch(self, run_id: str, metrics: Mapping[str, float] | None = None,
                  params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
                  step: int = 0) -> None:
        """Metrics (None and NaN left out), params and tags of a run in as few store round trips as MLflow's
        limits allow: one request (one transaction on SQLite) when they fit, else chunks of each kind."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        entries = {
            "metrics": [Metric(k, float(v), now, step) for k, v in (metrics or {}).items()
                        if v is not None and not math.isnan(float(v))],
            "params": [Param(k, str(v)) for k, v in (params or {}).items()],
            "tags": [RunTag(k, str(v)) for k, v in (tags or {}).items()]}
        if all(len(entries[kind]) <= limit for kind, limit in _BATCH_LIMITS.items()) \
                and sum(map(len, entries.values())) <= _BATCH_TOTAL:
            if any(entries.values()):
                self.client.log_batch(run_id, **entries)
            return
        for kind, limit in _BATCH_LIMITS.items():
            for chunk in _batch(entries[kind], limit):
                self.client.log_batch(run_id, **{kind: chunk})

    def log_artifact(self, run_id: str, path: str | Path) -> None:
        self.client.log_artifact(run_id, str(path))

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # reading the records back: tunebench compare / report

    def runs(self, experiment_names: list[str] | None = None) -> "pd.DataFrame":
        """Every run (parents and trials) of the named experiments, or of all of them, as mlflow.search_runs
        gives them: run_id, status, start_time, end_time, metrics.*, params.*, tags.*."""
        import mlflow
        import pandas as pd

        mlflow.set_tracking_uri(self.uri)
        if experiment_names is not None:
            experiment_names = [n for n in experiment_names if self.client.get_experiment_by_name(n)]
            if not experiment_names:
                return pd.DataFrame()
        runs = mlflow.search_runs(experiment_names=experiment_names, search_all_experiments=experiment_names is None)
        for column in ("tags.benchmark", f"tags.{PARENT_TAG}"):
            if column not in runs:
                runs[column] = None
        return runs

    def metric_histories(self, run_ids: list[str], keys: tuple[str, ...]) -> "pd.DataFrame":
        """Per-step values of `keys` for each run: columns run_id, key, step, value, timestamp."""
        import pandas as pd

        rows = [(run_id, m.key, m.step, m.value, m.timestamp) for run_id in run_ids for key in keys
                for m in self.client.get_metric_history(run_id, key)]
        return pd.DataFrame(rows, columns=["run_id", "key", "step", "value", "timestamp"])

    def download(self, run_id: str, artifact: str, folder: Path) -> Path | None:
        """An artifact of a run, downloaded into folder; None when the run has no such artifact."""
        if artifact not in {a.path for a in self.client.list_artifacts(run_id)}:
            return None
        return Path(self.client.download_artifacts(run_id, artifact, str(folder)))

    def log_artifacts(self, run_id: str, folder: Path, artifact_path: str) -> None:
        self.client.log_artifacts(run_id, str(folder), artifact_path)


def split_runs(runs: "pd.DataFrame") -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """(searches, trials): parent runs carry the benchmark tag, trial runs the parent's id."""
    if runs.empty:
        return runs, runs
    trials = runs[runs[f"tags.{PARENT_TAG}"].notna()]
    searches = runs[runs[f"tags.{PARENT_TAG}"].isna() & runs["tags.benchmark"].notna()]
    return searches.reset_index(drop=True), trials.reset_index(drop=True)


class TrialRuns(Callback):
    """Tune callback: a child run per trial nested under the search's parent run, metrics every epoch.

    The trial -> run map is kept in `run_map_path` (in the Ray experiment folder) so a resumed search
    continues the same runs.
    """

    def __init__(self, tracker: Tracker, experiment_id: str, parent_run_id: str, run_map_path: Path) -> None:
        self.tracker = tracker
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.run_map_path = run_map_path
        self.runs: dict[str, str] = json.loads(run_map_path.read_text()) if run_map_path.is_file() else {}
        self.best: dict[str, dict[str, float]] = {}  # trial id -> best_val_* so far

    def __getstate__(self) -> dict:
        """Tuner.restore unpickles the callback: keep where things are, not the client or a stale map."""
        return {"uri": self.tracker.uri, "experiment_id": self.experiment_id, "parent_run_id": self.parent_run_id,
                "run_map_path": self.run_map_path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(Tracker(state["uri"]), state["experiment_id"], state["parent_run_id"], state["run_map_path"])

    def _save_map(self) -> None:
        self.run_map_path.parent.mkdir(parents=True, exist_ok=True)
        self.run_map_path.write_text(json.dumps(self.runs, indent=1))

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            run_id = self.tracker.start_run(
                self.experiment_id, str(trial), trial.config,
                {PARENT_TAG: self.parent_run_id, "trial_id": trial.trial_id})
            self.runs[trial.trial_id] = run_id
            self._save_map()
        else:  # a resumed or retried trial: same run, and its best values so far come from what it logged
            self.tracker.client.update_run(run_id, status="RUNNING")
            best: dict[str, float] = {}
            for key in BEST_OF:
                for metric in self.tracker.client.get_metric_history(run_id, key):
                    best = best_so_far(best, {key: metric.value})
            self.best[trial.trial_id] = best

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id:
            metrics = epoch_metrics(result)
            self.tracker.log_metrics(run_id, metrics, step=int(result.get("epoch", result["training_iteration"])))
            self.best[trial.trial_id] = best_so_far(self.best.get(trial.trial_id, {}), metrics)

    def _end(self, trial, status: str, outcome: str, tags: Mapping[str, Any] | None = None) -> None:
        """How the trial ended and its best values in one write, then the run's status: the Tune loop waits on
        these before it hands the actor to the next trial."""
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        last = trial.last_result or {}
        self.tracker.log_batch(run_id, metrics=self.best.pop(trial.trial_id, {}),  # best_val_acc, best_val_loss, ...
                               tags={**(tags or {}), "outcome": outcome, "epochs_run": last.get("epoch", 0)})
        self.tracker.end_run(run_id, status)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        self._end(trial, "FINISHED", trial_outcome(trial.last_result, trial.config.get("epochs", 0)))

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        tags = {}
        if self.runs.get(trial.trial_id) and trial.error_file:
            lines = Path(trial.error_file).read_text(errors="replace").strip().splitlines() \
                if Path(trial.error_file).is_file() else []
            tags = {"error_file": trial.error_file, "error": lines[-1] if lines else "unknown"}
        self._end(trial, "FAILED", "error", tags)

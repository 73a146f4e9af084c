"""The only module that talks to MLflow: one parent run per search, one nested child run per trial.

No Ray here: the Tune callback that logs trials from the driver (so workers never need to reach the tracking
store) is tune_callbacks.TrialRuns, and it writes through the Tracker.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import pandas as pd

from tunebench import TunebenchError

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
MODEL_PATH = "model"  # where a run's model is logged: runs:/<run>/model


class Tag:
    """Every tag name tunebench writes on a run; the reports read them back as `tag(name)` columns."""

    PARENT = "mlflow.parentRunId"    # MLflow's own: nests a trial run under its search's run
    RUN_NAME = "mlflow.runName"      # MLflow's own
    NOTE = "mlflow.note.content"     # MLflow's own: the run's description in the UI
    # a search's parent run
    BENCHMARK = "benchmark"
    SEARCH = "search"                # the search algorithm
    SCHEDULER = "scheduler"
    GIT_COMMIT = "git_commit"
    VERSION = "tunebench_version"
    SEED_REPORT = "seed_report"
    RAY_EXPERIMENT = "ray_experiment"
    SMOKE = "smoke"                  # "True" for a --smoke search: left out of `tunebench compare` unless asked
    OPTUNA_STORAGE = "optuna_storage"  # an optuna search: the Optuna storage URL of its study (optuna-dashboard URL)
    OPTUNA_STUDY = "optuna_study"    # an optuna search: its study's name in that storage (the search's name)
    DATASET = "dataset"              # the registered dataset the search ran on (--dataset folder: the user's images)
    METRIC = "metric"                # the benchmark's metric and mode: `tunebench report` of a user's search reads
    MODE = "mode"                    # them back when no shipped benchmark has its name (--objective: the first one)
    SAMPLER = "sampler"              # an optuna search: its Optuna sampler (tpe, gp, cmaes, qmc, random)
    OBJECTIVES = "objectives"        # a search given --objective: "val_acc:max,epoch_time_s:min" (several: a front)
    WARM_START = "warm_start"        # a search given --warm-start: what it used ("report: 6 configurations")
    BEST_PREFIX = "best."            # + hyperparameter: the best trial's value
    BEST_TRIAL = "best_trial"
    BEST_CHECKPOINT = "best_checkpoint"
    MODEL = "model_uri"              # the best trial's model, logged on the run (mlflow.pytorch.load_model)
    STUDY = "study"                  # a study's parent run (tunebench study): the study's name
    PART = "study_part"              # a study row's run: the part (one Tuner run) of the study it ran in
    ROWS = "study_rows"              # a study row's run: the table rows it stands for ("T3.3 lr=0.01; T3.7 ...")
    # a trial's run
    TRIAL = "trial_id"               # its Ray Tune trial id
    OUTCOME = "outcome"              # trials.trial_outcome's words
    EPOCHS_RUN = "epochs_run"
    ERROR = "error"
    ERROR_FILE = "error_file"
    PBT_LINEAGE = "pbt_lineage"      # --scheduler pbt: each time the trial cloned another ("epoch 4: cloned ...")


def tag(name: str) -> str:
    """The column of mlflow.search_runs that holds a tag."""
    return f"tags.{name}"

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


@contextmanager
def _store_setup_lock(tracking_uri: str):
    """Processes opening a new SQLite store at once take turns: MLflow creates and migrates the schema on first
    use, and two migrations racing fail ("duplicate column name"). Other stores need no lock."""
    path = _sqlite_path(tracking_uri)
    if path is None or not path.parent.is_dir():
        yield
        return
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(path) + ".lock", timeout=300):
            yield
    except Timeout:
        raise TunebenchError(f"cannot use MLflow tracking store {tracking_uri}: another process holds "
                             f"{path}.lock for more than 5 minutes") from None


def _sqlite_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///").split("?", 1)[0])


class Tracker:
    """An MLflow store, checked to be reachable before any trial starts."""

    def __init__(self, tracking_uri: str = DEFAULT_TRACKING_URI) -> None:
        from mlflow.tracking import MlflowClient

        for noisy in ("alembic", "mlflow"):  # database migrations log at INFO on a new store
            logging.getLogger(noisy).setLevel(logging.WARNING)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a few small files: no progress bars
        self.uri = tracking_uri
        try:
            with _quick_http(), _store_setup_lock(tracking_uri):  # the client creates a new store's tables
                self.client = MlflowClient(tracking_uri=tracking_uri)
                self.client.search_experiments(max_results=1)
        except TunebenchError:
            raise
        except Exception as exc:  # bad scheme, unreachable server, unwritable database...
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TunebenchError(f"cannot use MLflow tracking store {tracking_uri}: {message}") from None

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created when it does not exist (by this process or one racing it)."""
        from mlflow.exceptions import MlflowException

        experiment = self.client.get_experiment_by_name(name)
        if experiment:
            return experiment.experiment_id
        try:
            return self.client.create_experiment(name)
        except MlflowException:  # another search created it meanwhile
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return experiment.experiment_id

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

    def log_model(self, run_id: str, module: Any, example: Any, output: Any, metadata: Mapping[str, Any],
                  register_as: str | None = None) -> str:
        """A PyTorch module logged on a run as an MLflow model at `model`, with a signature inferred from an input
        example and its output, `metadata` (what it expects and means) and the torch / torchvision it was saved
        with; registered in the model registry as `register_as` when given. Returns runs:/<run>/model. The run
        keeps its status."""
        import mlflow
        import mlflow.pytorch
        from importlib.metadata import version
        from mlflow.models import infer_signature

        status = self.client.get_run(run_id).info.status
        mlflow.set_tracking_uri(self.uri)
        arguments = dict(name=MODEL_PATH, signature=infer_signature(example, output), input_example=example,
                         metadata=dict(metadata), registered_model_name=register_as,
                         pip_requirements=[f"{name}=={version(name).split('+')[0]}" for name in ("torch", "torchvision")])
        with mlflow.start_run(run_id=run_id):
            try:  # torch.export's graph: loads without tunebench's code
                mlflow.pytorch.log_model(module, serialization_format="pt2", **arguments)
            except Exception:  # a network torch.export cannot trace: the pickled module (needs tunebench to load)
                mlflow.pytorch.log_model(module, serialization_format="pickle", **arguments)
        self.client.update_run(run_id, status=status)  # start_run's end marked it FINISHED
        uri = f"runs:/{run_id}/{MODEL_PATH}"
        self.set_tags(run_id, {Tag.MODEL: uri})
        return uri

    def load_model(self, uri: str) -> tuple[Any, dict[str, Any]]:
        """An MLflow PyTorch model (runs:/..., models:/NAME/VERSION) and its metadata."""
        import mlflow
        import mlflow.pytorch
        from mlflow.exceptions import MlflowException

        mlflow.set_tracking_uri(self.uri)
        try:
            metadata = mlflow.models.get_model_info(uri).metadata or {}
            return mlflow.pytorch.load_model(uri, map_location="cpu"), metadata
        except (MlflowException, OSError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TunebenchError(f"cannot load model {uri} from {self.uri}: {message}") from None

    def latest_model(self, experiment_name: str) -> str | None:
        """runs:/<run>/model of the experiment's latest run that logged a model; None when none did."""
        experiment = self.client.get_experiment_by_name(experiment_name)
        if experiment is None:
            return None
        runs = self.client.search_runs([experiment.experiment_id], f"tags.`{Tag.MODEL}` != ''",
                                       order_by=["attributes.start_time DESC"], max_results=1)
        return runs[0].data.tags[Tag.MODEL] if runs else None

    # reading the records back: tunebench compare / report

    def searches(self, experiment_names: list[str] | None = None, run_id: str | None = None,
                 newest: bool = False) -> "pd.DataFrame":
        """The parent runs of searches (a benchmark tag, no parent) in the named experiments, or in all of them, as
        mlflow.search_runs gives them: run_id, experiment_id, status, start_time, end_time, metrics.*, params.*,
        tags.*. The store filters them: trial runs are not read. `run_id`: that search only; `newest`: the one
        started last."""
        where = f"tags.`{Tag.BENCHMARK}` LIKE '%'"  # has the tag (IS NOT NULL is newer than mlflow>=3.10)
        if run_id is not None:
            where += f" and attributes.run_id = '{run_id}'"
        runs = self._search_runs(where, experiment_names, **({"order_by": ["attributes.start_time DESC"],
                                                              "max_results": 1} if newest else {}))
        return runs[runs[tag(Tag.PARENT)].isna()].reset_index(drop=True) if len(runs) else runs

    def trials_of(self, experiment_id: str, parent_run_id: str) -> "pd.DataFrame":
        """The trial runs of one search, as `searches` gives runs."""
        return self._search_runs(f"tags.`{Tag.PARENT}` = '{parent_run_id}'", experiment_ids=[experiment_id])

    def _search_runs(self, filter_string: str, experiment_names: list[str] | None = None,
                     experiment_ids: list[str] | None = None, **options) -> "pd.DataFrame":
        import mlflow
        import pandas as pd

        mlflow.set_tracking_uri(self.uri)
        if experiment_names is not None:
            experiment_names = [n for n in experiment_names if self.client.get_experiment_by_name(n)]
            if not experiment_names:
                return pd.DataFrame()
        with _no_garbage_collection():
            return _with_columns(mlflow.search_runs(
                experiment_ids=experiment_ids, experiment_names=experiment_names, filter_string=filter_string,
                search_all_experiments=experiment_ids is None and experiment_names is None, **options))

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

    def trial_runs(self, experiment_id: str, parent_run_id: str, part: str | None = None) -> dict[str, Any]:
        """The trial runs under a search's parent run (of one part of a study), by their trial_id tag: the one
        record of which run belongs to which trial (a file beside Ray's state could be overwritten by Ray's own
        sync)."""
        runs: dict[str, Any] = {}
        token = None
        query = f"tags.`{Tag.PARENT}` = '{parent_run_id}'" + (f" and tags.`{Tag.PART}` = '{part}'" if part else "")
        while True:
            page = self.client.search_runs([experiment_id], query, max_results=1000, page_token=token)
            for run in page:
                trial_id = run.data.tags.get(Tag.TRIAL)
                if trial_id and trial_id not in runs:  # oldest last in MLflow's order: keep the newest
                    runs[trial_id] = run
            token = page.token
            if not token:
                return runs

    def close_running(self, experiment_id: str, parent_run_id: str, status: str = "KILLED") -> int:
        """Mark the search's trial runs still RUNNING (an interrupted or killed driver) with `status`."""
        running = [run for run in self.trial_runs(experiment_id, parent_run_id).values()
                   if run.info.status == "RUNNING"]
        for run in running:
            self.end_run(run.info.run_id, status)
        return len(running)


@contextmanager
def _no_garbage_collection():
    """Python's cyclic garbage collector paused while MLflow builds a page of runs: the SQL store makes ~50 ORM
    objects per run, and the collections they trigger scan every object of MLflow's large import graph again
    (reading 600 search runs took twice as long with it)."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _with_columns(runs: "pd.DataFrame") -> "pd.DataFrame":
    """Runs with the tag columns the reports look up, also where no run has the tag."""
    for column in (tag(Tag.BENCHMARK), tag(Tag.PARENT)):
        if column not in runs:
            runs[column] = None
    return runs

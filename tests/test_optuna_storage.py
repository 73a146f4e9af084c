"""An optuna search's study is stored (optuna.db beside the MLflow store, one study per search, named as the search)
with one Optuna trial per Ray trial, continues across `--resume`, and is what `optuna.load_study` and
optuna-dashboard read. Real local Ray, a real SQLite MLflow store, real Optuna storages."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from search_spaces import BENCHMARKS
from tests.test_interruptions import _interrupt
from tests.test_resume import _trial_runs
from tunebench.search import SearchOptions, plan_search
from tunebench.search.methods import OPTUNA_DB, optuna_storage
from tunebench.search.optuna_searcher import RAY_TRIAL
from tunebench.tracking import Tag

ALEXNET = BENCHMARKS["alexnet-caltech"]
SMALL = {"lr": [1e-3, 1e-2], "step_size": [5, 10, 15], "weight_decay": [5e-5], "gamma": [0.1]}  # six configurations


def _same_value(stored, logged: str) -> bool:
    """An Optuna param against its MLflow param (a string)."""
    if isinstance(stored, (int, float)) and not isinstance(stored, bool):
        return float(logged) == pytest.approx(float(stored))
    return str(stored) == logged


def _assert_one_trial_per_run(study: optuna.Study, runs: list) -> None:
    """The stored study holds exactly the MLflow trial runs' trials, with their params, none RUNNING."""
    by_trial = {run.data.tags[Tag.TRIAL]: run for run in runs}
    stored = {trial.user_attrs[RAY_TRIAL]: trial for trial in study.trials}
    assert len(stored) == len(study.trials) and sorted(stored) == sorted(by_trial)
    for trial_id, trial in stored.items():
        assert trial.state == optuna.trial.TrialState.COMPLETE, (trial_id, trial.state)
        assert trial.params and all(_same_value(value, by_trial[trial_id].data.params[key])
                                    for key, value in trial.params.items())


@pytest.mark.slow
def test_a_search_stores_its_study_beside_the_mlflow_store(ray_local, in_tmp, tracking_uri, caltech_session_tree,
                                                           capsys):
    from tunebench.cli import main

    code = main(["search", "alexnet-caltech", "--smoke", "--num-samples", "3", "--max-epochs", "1",
                 "--data-dir", str(caltech_session_tree), "--tracking-uri", tracking_uri,
                 "--storage-path", str(in_tmp / "ray"), "--name", "stored"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    url = f"sqlite:///{in_tmp / OPTUNA_DB}"  # beside mlruns.db
    assert f"Optuna study 'stored' in {url}; to watch it: optuna-dashboard {url}" in out

    study = optuna.load_study(study_name="stored", storage=url)
    client = MlflowClient(tracking_uri)
    runs = _trial_runs(client)
    assert len(runs) == 3 and len(pd.read_csv(in_tmp / "ray" / "stored" / "results.csv")) == 3
    _assert_one_trial_per_run(study, runs)
    for trial in study.trials:  # the metric Tune optimised: final value, and per epoch
        run = next(r for r in runs if r.data.tags[Tag.TRIAL] == trial.user_attrs[RAY_TRIAL])
        assert trial.value == pytest.approx(run.data.metrics[ALEXNET.metric])
        assert trial.intermediate_values == {1: pytest.approx(run.data.metrics[ALEXNET.metric])}
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE  # alexnet-caltech maximises val_acc
    [parent] = [r for r in client.search_runs([runs[0].info.experiment_id]) if Tag.PARENT not in r.data.tags]
    assert parent.data.tags[Tag.OPTUNA_STORAGE] == url and parent.data.tags[Tag.OPTUNA_STUDY] == "stored"


@pytest.mark.slow
def test_an_interrupted_search_resumes_the_same_study(tmp_path, caltech_session_tree):
    """The driver is killed just after Optuna stored a new trial, before Ray Tune (which saves its state every 10 s
    or more) saved it: Ray Tune forgets that trial and asks for another on resume; the stored study follows."""
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    url = f"sqlite:///{tmp_path / OPTUNA_DB}"
    command = [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--max-epochs", "1",
               "--num-samples", "2", "--scheduler", "fifo", "--max-concurrent", "1",
               "--data-dir", str(caltech_session_tree), "--tracking-uri", uri,
               "--storage-path", str(tmp_path / "ray"), "--name", "killed"]
    client = MlflowClient(uri)
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None and not _trial_runs(client):
        time.sleep(0.2)  # the first trial started: the study exists
    storage = optuna.storages.RDBStorage(url)
    before = []
    while time.time() < deadline and process.poll() is None:  # the second trial just asked for
        before = [] if not optuna.get_all_study_names(storage) else storage.get_all_trials(
            storage.get_study_id_from_name("killed"))
        if len(before) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1][-2000:]
    _interrupt(process, (signal.SIGKILL, True))
    process.communicate(timeout=120)

    resumed = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    study = optuna.load_study(study_name="killed", storage=url)
    print("stored before the kill:", [(t.user_attrs.get(RAY_TRIAL), t.state.name) for t in before],
          "after the resume:", [(t.user_attrs[RAY_TRIAL], t.state.name) for t in study.trials])
    assert f"Optuna study 'killed' in {url}" in resumed.stdout

    results = pd.read_csv(tmp_path / "ray" / "killed" / "results.csv", dtype={"trial": str})
    assert optuna.get_all_study_names(url) == ["killed"]
    assert sorted(t.user_attrs[RAY_TRIAL] for t in study.trials) == sorted(results["trial"]) and len(results) == 2
    runs = [r for r in _trial_runs(client) if r.data.tags[Tag.TRIAL] in set(results["trial"])]
    _assert_one_trial_per_run(study, runs)


PLAN = plan_search(ALEXNET, SearchOptions(data_dir=Path("."), overrides=SMALL))


def _built(tmp_path: Path, name: str, storage: Path | None = None):
    """An optuna searcher as a search session builds it (tuner.build_tuner: the session's name and folder)."""
    return PLAN.method.searcher(PLAN, SearchOptions(data_dir=tmp_path, name=name, storage_path=storage or tmp_path,
                                                    tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}"))


def _set_up(searcher):
    """What Tune does first with a searcher, new or restored."""
    searcher.set_search_properties(ALEXNET.metric, ALEXNET.mode, PLAN.param_space())
    return searcher


def _searcher(tmp_path: Path, name: str):
    return _set_up(_built(tmp_path, name))


def _run(searcher, trial_id: str, value: float, epochs: int = 2) -> None:
    for epoch in range(1, epochs + 1):
        searcher.on_trial_result(trial_id, {ALEXNET.metric: value * epoch / epochs, "training_iteration": epoch})
    searcher.on_trial_complete(trial_id, {ALEXNET.metric: value, "training_iteration": epochs})


def test_repeats_answered_from_earlier_results_are_not_stored_trials(tmp_path):
    """Six configurations asked for six times: TPE proposes repeats, which its own study records; the stored study
    holds the six trials that ran."""
    searcher = _searcher(tmp_path, "repeats")
    for i in range(6):
        searcher.suggest(f"t{i}")
        _run(searcher, f"t{i}", 0.1 * i)
    study = optuna.load_study(study_name="repeats", storage=f"sqlite:///{tmp_path / OPTUNA_DB}")
    assert [t.user_attrs[RAY_TRIAL] for t in study.trials] == [f"t{i}" for i in range(6)]
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 6  # six distinct configurations
    assert len(searcher._ot_study.trials) > 6  # the repeats TPE was answered about
    assert [t.value for t in study.trials] == pytest.approx([0.1 * i for i in range(6)])
    assert [t.intermediate_values for t in study.trials][1] == {1: pytest.approx(0.05), 2: pytest.approx(0.1)}


def test_a_restored_searcher_drops_the_trials_ray_tune_forgot(tmp_path, capsys):
    """As Tuner.restore does it: the searcher of tuner.pkl (pickled before Tune set it up) is given the state Ray Tune
    saved. A trial asked for after that save is in the stored study but not in Ray Tune's: it goes, and the study
    goes on."""
    import pickle

    pickled = pickle.dumps(_built(tmp_path, "restored"))  # what tuner.pkl holds: the searcher before Tune set it up
    first = _set_up(pickle.loads(pickled))
    first.suggest("t0")
    _run(first, "t0", 0.5)
    first.suggest("t1")
    first.on_trial_result("t1", {ALEXNET.metric: 0.2, "training_iteration": 1})
    first.save(str(tmp_path / "searcher-state.pkl"))  # Ray Tune's experiment checkpoint
    first.suggest("t2")  # then the driver is killed
    url = f"sqlite:///{tmp_path / OPTUNA_DB}"
    assert [t.user_attrs[RAY_TRIAL] for t in optuna.load_study(study_name="restored", storage=url).trials] == \
        ["t0", "t1", "t2"]

    second = pickle.loads(pickled)  # Tuner.restore passes no param_space: Tune does not set it up again
    second.restore(str(tmp_path / "searcher-state.pkl"))
    assert f"Optuna study 'restored' in {url}; to watch it: optuna-dashboard {url}" in capsys.readouterr().out
    study = optuna.load_study(study_name="restored", storage=url)
    assert [(t.user_attrs[RAY_TRIAL], t.state.name) for t in study.trials] == [("t0", "COMPLETE"), ("t1", "RUNNING")]
    assert study.trials[1].intermediate_values == {1: pytest.approx(0.2)}
    _run(second, "t1", 0.4)  # Ray Tune continues t1 from its checkpoint
    second.suggest("t3")
    _run(second, "t3", 0.3)
    study = optuna.load_study(study_name="restored", storage=url)
    assert [(t.user_attrs[RAY_TRIAL], t.state.name, t.value) for t in study.trials] == [
        ("t0", "COMPLETE", pytest.approx(0.5)), ("t1", "COMPLETE", pytest.approx(0.4)),
        ("t3", "COMPLETE", pytest.approx(0.3))]

    third = pickle.loads(pickled)  # resumed again, nothing forgotten this time: the same stored study, kept
    study_id = optuna.storages.RDBStorage(url).get_study_id_from_name("restored")
    second.save(str(tmp_path / "searcher-state.pkl"))
    third.restore(str(tmp_path / "searcher-state.pkl"))
    assert optuna.storages.RDBStorage(url).get_study_id_from_name("restored") == study_id
    assert len(optuna.load_study(study_name="restored", storage=url).trials) == 3


def test_a_search_whose_trials_start_again_starts_its_study_again(tmp_path):
    """--resume of a search stopped before Ray Tune saved anything builds a new searcher: its trials start again, and
    so does the stored study of the same name."""
    first = _searcher(tmp_path, "again")
    first.suggest("t0")
    first.suggest("t1")
    second = _searcher(tmp_path, "again")
    second.suggest("t2")
    _run(second, "t2", 0.7)
    study = optuna.load_study(study_name="again", storage=f"sqlite:///{tmp_path / OPTUNA_DB}")
    assert [(t.user_attrs[RAY_TRIAL], t.state.name) for t in study.trials] == [("t2", "COMPLETE")]


def test_a_study_of_another_search_of_the_same_name_is_left_alone(tmp_path):
    """Two --storage-path folders, one MLflow store: two searches may share a name, but not a study."""
    first = _searcher(tmp_path, "smoke")
    first.suggest("t0")
    _run(first, "t0", 0.6)
    other = _set_up(_built(tmp_path, "smoke", storage=tmp_path / "elsewhere"))
    with pytest.warns(RuntimeWarning, match="holds a study 'smoke' of another search"):
        other.suggest("u0")
    _run(other, "u0", 0.1)  # the search goes on, its study not stored
    study = optuna.load_study(study_name="smoke", storage=f"sqlite:///{tmp_path / OPTUNA_DB}")
    assert [(t.user_attrs[RAY_TRIAL], t.value) for t in study.trials] == [("t0", pytest.approx(0.6))]
    assert study.user_attrs["ray_experiment"] == str(tmp_path / "smoke")


# a driver's searcher, as methods._optuna builds it, writing 8 trials of 3 epochs (imports kept light: no torch)
DRIVER = """
import sys
from ray import tune
from tunebench.search.optuna_searcher import DistinctOptunaSearch
url, name = sys.argv[1:]
searcher = DistinctOptunaSearch(seed=0, study_name=name, storage_url=url)
searcher.set_search_properties("val_acc", "max", {"lr": tune.loguniform(1e-4, 1e-1), "step_size": tune.choice([5, 10])})
for i in range(8):
    searcher.suggest(f"{name}-{i}")
    for epoch in (1, 2, 3):
        searcher.on_trial_result(f"{name}-{i}", {"val_acc": 0.1 * epoch, "training_iteration": epoch})
    searcher.on_trial_complete(f"{name}-{i}", {"val_acc": 0.3, "training_iteration": 3})
"""


def test_two_searches_write_one_optuna_db_at_once(tmp_path):
    """Two drivers (processes) creating the same new optuna.db and writing their studies into it at once."""
    url = f"sqlite:///{tmp_path / OPTUNA_DB}"
    drivers = [subprocess.Popen([sys.executable, "-W", "error::RuntimeWarning", "-c", DRIVER, url, name],
                                stderr=subprocess.PIPE, text=True) for name in ("left", "right")]
    errors = [driver.communicate(timeout=120)[1] for driver in drivers]
    assert [d.returncode for d in drivers] == [0, 0], errors
    assert sorted(optuna.get_all_study_names(url)) == ["left", "right"]
    for name in ("left", "right"):
        trials = optuna.load_study(study_name=name, storage=url).trials
        assert [t.user_attrs[RAY_TRIAL] for t in trials] == [f"{name}-{i}" for i in range(8)]
        assert all(t.state.name == "COMPLETE" and len(t.intermediate_values) == 3 for t in trials)


@pytest.mark.parametrize("tracking_uri, folder", [
    ("sqlite:///{tmp}/stores/mlruns.db", "stores"),        # an absolute path
    ("sqlite:///mlruns.db", "."),                          # the default: the working directory's
    ("sqlite:///stores/mlruns.db?timeout=20", "stores"),   # relative, with a query
    ("file://{tmp}/mlruns", "ray"),
    ("http://127.0.0.1:5000", "ray"),
    ("databricks", "ray"),
])
def test_the_study_lies_beside_an_sqlite_mlflow_store_else_in_the_storage_folder(in_tmp, tracking_uri, folder):
    options = SearchOptions(data_dir=in_tmp, storage_path=Path("ray"), tracking_uri=tracking_uri.format(tmp=in_tmp))
    assert optuna_storage(options) == f"sqlite:///{(in_tmp / folder).resolve() / OPTUNA_DB}"


@pytest.mark.slow
def test_a_search_with_a_file_store_keeps_its_study_in_the_storage_folder(ray_local, in_tmp, caltech_session_tree,
                                                                          monkeypatch):
    from tunebench.cli import main

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps its file store for those who ask
    uri = f"file://{in_tmp / 'mlruns'}"
    code = main(["search", "alexnet-caltech", "--smoke", "--num-samples", "1", "--max-epochs", "1",
                 "--data-dir", str(caltech_session_tree), "--tracking-uri", uri,
                 "--storage-path", str(in_tmp / "ray"), "--name", "filestore"])
    assert code == 0
    study = optuna.load_study(study_name="filestore", storage=f"sqlite:///{in_tmp / 'ray' / OPTUNA_DB}")
    assert len(study.trials) == 1 and study.trials[0].state.name == "COMPLETE"
    assert not (in_tmp / OPTUNA_DB).exists()

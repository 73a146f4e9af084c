"""`search --objective METRIC:MODE[,...]`: one objective replaces the benchmark's metric; several make an optuna
search multi-objective and end every search with the Pareto front of its trials (printed, pareto_front.csv and
.png on the parent run, a section of `tunebench report`). The front's computation, the searcher driven as Tune
drives it, and a real search: real local Ray, a real SQLite MLflow store, real JPEGs."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from search_spaces import BENCHMARKS
from tunebench import TunebenchError
from tunebench.cli import main
from tunebench.plots import draw_pareto_front
from tunebench.reports import non_dominated, objective_frame, pareto_front, parse_objectives
from tunebench.search import SearchOptions, plan_search
from tunebench.search.methods import OPTUNA_DB
from tunebench.search.options import SAVED
from tunebench.search.optuna_searcher import RAY_TRIAL
from tunebench.search.plan import with_objective
from tunebench.tracking import Tag

ALEXNET = BENCHMARKS["alexnet-caltech"]
TWO = (("val_acc", "max"), ("epoch_time_s", "min"))


def _dominates(a, b, modes) -> bool:
    """a is at least as good as b in every objective and better in one (written out here, not the code's)."""
    better = [x > y if mode == "max" else x < y for x, y, mode in zip(a, b, modes)]
    at_least = [x >= y if mode == "max" else x <= y for x, y, mode in zip(a, b, modes)]
    return all(at_least) and any(better)


# --- the front's computation ---

def test_the_front_of_two_objectives():
    values = pd.DataFrame({"acc": [0.9, 0.8, 0.7, 0.85, 0.6, 0.9],
                           "seconds": [10.0, 5.0, 1.0, 6.0, 2.0, 12.0]}, index=list("abcdef"))
    front = non_dominated(values, ["max", "min"])
    # d (0.85, 6) is beaten by none: a is more accurate but slower, b faster but less accurate
    # e (0.6, 2) is beaten by c (0.7, 1); f (0.9, 12) by a (0.9, 10): as good in one, better in the other
    assert front.to_dict() == {"a": True, "b": True, "c": True, "d": True, "e": False, "f": False}
    # the other way round (the least accurate, the slowest): c is beaten by e (0.6, 2), a by f (0.9, 12)
    assert non_dominated(values, ["min", "max"])[lambda s: s].index.tolist() == ["b", "d", "e", "f"]


def test_equal_trials_are_both_on_the_front_and_a_missing_value_on_none():
    values = pd.DataFrame({"acc": [0.9, 0.9, 0.95, 0.99, None], "mb": [3.0, 3.0, 5.0, float("nan"), 1.0]})
    assert non_dominated(values, ["max", "min"]).tolist() == [True, True, True, False, False]
    assert non_dominated(values.iloc[0:0], ["max", "min"]).tolist() == []
    with pytest.raises(ValueError, match="2 objective columns, 1 modes"):
        non_dominated(values, ["max"])
    with pytest.raises(ValueError, match="min or max"):
        non_dominated(values, ["max", "down"])


def test_the_front_matches_the_definition_on_random_trials():
    rng = np.random.default_rng(0)
    for objectives in (["max", "min"], ["min", "min", "max"]):
        # whole numbers: ties in single objectives happen, as they do with model_mb
        values = pd.DataFrame(rng.integers(0, 6, size=(60, len(objectives))), columns=[f"o{i}" for i in
                                                                                       range(len(objectives))])
        front = non_dominated(values, objectives)
        rows = [tuple(r) for r in values.itertuples(index=False)]
        for i, row in enumerate(rows):
            beaten = any(_dominates(other, row, objectives) for other in rows)
            assert front[i] == (not beaten), (row, objectives)
        assert front.any()


def test_pareto_front_orders_by_the_first_objective_and_keeps_the_other_columns():
    trials = pd.DataFrame({"trial": ["t1", "t2", "t3", "t4"], "lr": [0.1, 0.01, 0.001, 0.05],
                           "val_acc": [0.5, 0.9, 0.7, 0.4], "epoch_time_s": [1.0, 9.0, 3.0, 2.0]})
    front = pareto_front(trials, TWO)
    assert front["trial"].tolist() == ["t2", "t3", "t1"] and list(front.columns) == list(trials.columns)
    assert pareto_front(trials.drop(columns="epoch_time_s"), TWO).empty  # an objective no trial reported


def test_objectives_tag_read_back():
    assert parse_objectives("val_acc:max,epoch_time_s:min") == TWO
    assert parse_objectives(None) == () and parse_objectives(float("nan")) == () and parse_objectives("") == ()


def test_objective_frame_takes_the_trials_the_searcher_was_told():
    runs = pd.DataFrame({
        "run_id": ["r1", "r2", "r3", "r4"], "status": ["FINISHED", "FAILED", "FINISHED", "KILLED"],
        "tags.trial_id": ["a", "b", "c", "d"], "tags.outcome": ["completed", "error", "stopped by scheduler", None],
        "params.lr": ["0.01", "0.1", "0.001", "0.02"], "metrics.val_acc": [0.5, 0.1, 0.3, 0.2],
        "metrics.epoch_time_s": [2.0, 1.0, None, 3.0]})
    frame = objective_frame(runs, TWO, ["lr"])
    assert frame["trial"].tolist() == ["a", "c"] and frame["lr"].tolist() == [0.01, 0.001]
    assert frame["val_acc"].tolist() == [0.5, 0.3] and math.isnan(frame["epoch_time_s"][1])
    assert objective_frame(runs.drop(columns="metrics.epoch_time_s"), TWO, ["lr"])["epoch_time_s"].isna().all()


def test_the_plot_marks_the_front():
    trials = pd.DataFrame({"val_acc": [0.5, 0.9, 0.7, 0.4, None], "epoch_time_s": [1.0, 9.0, 3.0, 2.0, 1.0],
                           "model_mb": [2.0, 2.0, 1.0, 3.0, 1.0]})
    fig = draw_pareto_front(trials, list(TWO))
    [ax] = fig.axes
    front_line = next(line for line in ax.get_lines() if "Pareto front" in line.get_label())
    assert list(front_line.get_xdata()) == [0.9, 0.7, 0.5] and list(front_line.get_ydata()) == [9.0, 3.0, 1.0]
    assert "1 trials without every value left out" in fig.get_suptitle()
    assert ax.get_xlabel() == "val_acc (higher is better)" and ax.get_ylabel() == "epoch_time_s (lower is better)"
    three = draw_pareto_front(trials, [*TWO, ("model_mb", "min")])
    assert len([ax for ax in three.axes if ax.axison]) == 3  # a panel per pair
    assert draw_pareto_front(trials.iloc[0:0], list(TWO)).get_label() == "no data"


# --- planning: names, aliases, the metric, the scheduler ---

def _plan(**options):
    return plan_search(ALEXNET, SearchOptions(data_dir=Path("."), **options))


def test_one_objective_replaces_the_benchmarks_metric():
    plan = _plan(objectives=(("val_loss", "min"),))
    assert plan.objectives == (("val_loss", "min"),) and not plan.multi_objective and plan.scheduler == "asha"
    benchmark = with_objective(ALEXNET, plan)
    assert (benchmark.metric, benchmark.mode) == ("val_loss", "min") and benchmark.name == ALEXNET.name
    assert with_objective(ALEXNET, _plan()) is ALEXNET


def test_the_report_ranks_by_the_metric_the_search_ranked_by():
    """`tunebench report` of a search given --objective val_loss:min ranks its trials by val_loss, as the search did;
    by the benchmark's metric where the trial runs keep no best value of the first objective (epoch_time_s)."""
    from tunebench.recorded import _recorded_metric

    assert _recorded_metric(pd.Series({"tags.metric": "val_loss", "tags.mode": "min"}), "val_acc", "max") == (
        "val_loss", "min")
    assert _recorded_metric(pd.Series({"tags.metric": "epoch_time_s", "tags.mode": "min"}), "val_acc", "max") == (
        "val_acc", "max")
    assert _recorded_metric(pd.Series(dtype=object), "val_acc", "max") == ("val_acc", "max")


def test_several_objectives_resolve_aliases_and_run_every_epoch():
    plan = _plan(objectives=(("val_acc", "max"), ("epoch_seconds", "min"), ("model_size_mb", "min")))
    assert plan.objectives == (*TWO, ("model_mb", "min")) and plan.multi_objective
    assert plan.scheduler == "fifo"  # ASHA would stop trials by val_acc alone
    assert _plan(objectives=TWO, scheduler="asha").scheduler == "asha"  # when asked
    assert with_objective(ALEXNET, plan) is ALEXNET  # the first is the benchmark's metric already
    assert _plan(objectives=TWO, search="random").scheduler == "fifo"  # any search: its front, afterwards


@pytest.mark.parametrize("objectives, message", [
    ((("val_accuracy", "max"),), "--objective val_accuracy: no trial reports it (one of train_loss, "),
    ((("epoch_time_s", "min"), ("epoch_seconds", "min")), "a metric given twice"),
    ((("val_acc", "up"),), "--objective val_acc:up: the mode is min or max"),
])
def test_objectives_no_trial_can_report_are_refused(objectives, message):
    with pytest.raises(TunebenchError, match=message.replace("(", "\\(")):
        _plan(objectives=objectives)


def test_cmaes_takes_one_objective():
    with pytest.raises(TunebenchError, match="--sampler cmaes optimises one objective; with several --objective "
                                             "values use one of tpe, gp, qmc, random"):
        _plan(objectives=TWO, sampler="cmaes")
    assert _plan(objectives=(("val_loss", "min"),), sampler="cmaes").sampler == "cmaes"


@pytest.mark.parametrize("value, message", [
    ("val_accuracy:max", "--objective val_accuracy: no trial reports it (one of "),
    ("val_acc", "argument --objective: expected METRIC:min or METRIC:max, comma-separated, got 'val_acc'"),
    ("val_acc:max,val_acc:min", "argument --objective: a metric given twice"),
    ("val_acc:max,epoch_seconds:min", "--sampler cmaes optimises one objective"),
])
def test_a_bad_objective_is_a_one_line_error_before_anything_starts(tmp_path, capsys, value, message):
    code = main(["search", "alexnet-caltech", "--objective", value, "--data-dir", str(tmp_path),
                 "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}", "--storage-path", str(tmp_path / "ray"),
                 *(["--sampler", "cmaes"] if "cmaes" in message else [])])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "mlruns.db").exists() and not (tmp_path / "ray").exists()


def test_objectives_survive_the_search_files_json():
    """--resume reads the options back from JSON, where the pairs became lists."""
    options = SearchOptions(data_dir=Path("."), objectives=TWO, sampler="gp")
    saved = json.loads(json.dumps({key: getattr(options, key) for key in SAVED}, default=str))
    assert saved["objectives"] == [["val_acc", "max"], ["epoch_time_s", "min"]]
    again = replace(SearchOptions(data_dir=Path(".")), **saved)
    assert again.objectives == TWO and again.sampler == "gp" and again == options


# --- the searcher, driven as Tune drives it ---

def _multi_searcher(tmp_path: Path, overrides=None):
    options = SearchOptions(data_dir=tmp_path, objectives=TWO, name="multi", storage_path=tmp_path,
                            tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}", overrides=overrides or {})
    plan = plan_search(ALEXNET, options)
    searcher = plan.method.searcher(plan, options)
    # Tune hands the searcher TuneConfig's single metric: the first objective
    searcher.set_search_properties("val_acc", "max", plan.param_space())
    return searcher


def test_a_multi_objective_searcher_keeps_its_objectives_and_stores_their_values(tmp_path):
    searcher = _multi_searcher(tmp_path)
    assert searcher.metric == ["val_acc", "epoch_time_s"] and searcher.mode == ["max", "min"]
    told = {}
    for i in range(4):
        config = searcher.suggest(f"t{i}")
        result = {"val_acc": config["lr"] * 5, "epoch_time_s": 10 - config["gamma"], "training_iteration": 1}
        searcher.on_trial_result(f"t{i}", result)  # Optuna's multi-objective trials take no per-epoch values
        if i == 3:
            result = {"val_acc": 0.5, "training_iteration": 1}  # an objective missing: pruned, not half told
        searcher.on_trial_complete(f"t{i}", result)
        told[f"t{i}"] = [result["val_acc"], result.get("epoch_time_s")]
    study = optuna.load_study(study_name="multi", storage=f"sqlite:///{tmp_path / OPTUNA_DB}")
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    by_trial = {t.user_attrs[RAY_TRIAL]: t for t in study.trials}
    for trial_id in ("t0", "t1", "t2"):
        assert by_trial[trial_id].state == optuna.trial.TrialState.COMPLETE
        assert by_trial[trial_id].values == pytest.approx(told[trial_id])
        assert by_trial[trial_id].intermediate_values == {}
    assert by_trial["t3"].state == optuna.trial.TrialState.PRUNED and by_trial["t3"].values is None
    front = {t.user_attrs[RAY_TRIAL] for t in study.best_trials}
    values = pd.DataFrame([told[t] for t in ("t0", "t1", "t2")], index=["t0", "t1", "t2"])
    assert front == set(values.index[non_dominated(values, ["max", "min"])])


def test_a_repeat_is_answered_with_every_objective(tmp_path):
    """A space of two configurations, both run: every proposal after them is a repeat, told the values of the trial
    that ran it (each objective's), until the searcher gives in and runs one again."""
    searcher = _multi_searcher(tmp_path, overrides={"lr": [1e-3, 1e-2], "step_size": [5], "weight_decay": [5e-5],
                                                    "gamma": [0.1]})
    told = {}
    for i, values in enumerate(([0.4, 3.0], [0.6, 5.0])):
        config = searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {"val_acc": values[0], "epoch_time_s": values[1], "training_iteration": 1})
        told[config["lr"]] = values
    assert len(told) == 2  # the second trial is the other configuration
    searcher.suggest("t2")
    answered = [t for t in searcher._ot_study.trials if t.state == optuna.trial.TrialState.COMPLETE][2:]
    assert len(answered) == searcher._attempts - 1
    assert all(t.values == told[t.params["lr"]] for t in answered)
    study = optuna.load_study(study_name="multi", storage=f"sqlite:///{tmp_path / OPTUNA_DB}")
    assert len(study.trials) == 3  # the repeats answered are not trials of the stored study


# --- the trials report what the objectives name ---

def test_a_trial_reports_its_models_size_every_epoch(ray_local, caltech_tree):
    from ray import tune

    from tunebench.data import build_dataset
    from tunebench.trainable import TrialTrainable

    splits = build_dataset("caltech101", caltech_tree)
    config = {**ALEXNET.defaults, "model": "tiny-cnn", "epochs": 2, "seed": 0, "image_size": 32, "batch_size": 8}
    trainable = tune.with_parameters(TrialTrainable, splits=splits)(config)
    results = [trainable.train() for _ in range(2)]
    saved = trainable.save()
    trainable.stop()
    expected = sum(t.numel() * t.element_size() for t in trainable.states[0].model.state_dict().values()) / 2**20
    assert [r["model_mb"] for r in results] == [pytest.approx(expected)] * 2 and expected > 0
    assert all(r["epoch_time_s"] > 0 for r in results)
    assert TrialTrainable.evaluate_checkpoint(saved.checkpoint, config, splits)["model_mb"] == pytest.approx(expected)


# --- a real search of two objectives, and its report ---

@pytest.fixture(scope="module")
def multi_search(ray_local, tmp_path_factory, caltech_session_tree):
    """`tunebench search alexnet-caltech --smoke --objective val_acc:max,epoch_time_s:min`, once for the module."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("multi")
    tracking_uri = f"sqlite:///{folder / 'mlruns.db'}"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["search", "alexnet-caltech", "--smoke", "--objective", "val_acc:max,epoch_seconds:min",
                     "--num-samples", "4", "--max-epochs", "1", "--max-concurrent", "2",
                     "--data-dir", str(caltech_session_tree), "--tracking-uri", tracking_uri,
                     "--storage-path", str(folder / "ray"), "--name", "multi"])
    assert code == 0, err.getvalue()[-3000:]
    return folder, tracking_uri, out.getvalue()


def _runs(tracking_uri: str):
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
    [parent] = [r for r in runs if Tag.PARENT not in r.data.tags]
    return client, parent, [r for r in runs if Tag.PARENT in r.data.tags]


@pytest.mark.slow
def test_a_multi_objective_search_ends_with_a_front_no_trial_beats(multi_search, tmp_path):
    folder, tracking_uri, out = multi_search
    client, parent, children = _runs(tracking_uri)
    assert "search multi: optuna (tpe) + fifo, 4 samples x 1 epochs" in out
    assert "Pareto front over val_acc (max), epoch_time_s (min): " in out
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[Tag.OBJECTIVES] == "val_acc:max,epoch_time_s:min"
    assert parent.data.tags[Tag.SAMPLER] == "tpe" and parent.data.tags[Tag.SCHEDULER] == "fifo"
    assert (parent.data.tags[Tag.METRIC], parent.data.tags[Tag.MODE]) == ("val_acc", "max")
    assert "objectives val_acc (max), epoch_time_s (min)" in parent.data.tags[Tag.NOTE]
    assert {"pareto_front.csv", "pareto_front.png", "results.csv"} <= {a.path for a in client.list_artifacts(
        parent.info.run_id)}

    # the trial runs' last values, as MLflow holds them; every epoch of a trial reported its model's size
    assert len(children) == 4 and all(c.data.tags[Tag.OUTCOME] == "completed" for c in children)
    values = {c.data.tags[Tag.TRIAL]: (c.data.metrics["val_acc"], c.data.metrics["epoch_time_s"]) for c in children}
    assert all(c.data.metrics["model_mb"] > 0 for c in children)
    front_file = Path(client.download_artifacts(parent.info.run_id, "pareto_front.csv", str(tmp_path)))
    front = pd.read_csv(front_file)
    assert list(front.columns) == ["trial", "lr", "step_size", "weight_decay", "gamma", "val_acc", "epoch_time_s"]
    on_front = set(front["trial"])
    assert on_front and on_front <= set(values)
    for trial, row in front.set_index("trial").iterrows():
        assert (row["val_acc"], row["epoch_time_s"]) == pytest.approx(values[trial])
    modes = ("max", "min")
    for trial in on_front:  # no trial beats a front trial
        assert not any(_dominates(other, values[trial], modes) for other in values.values())
    for trial in set(values) - on_front:  # a front trial beats every other
        assert any(_dominates(values[best], values[trial], modes) for best in on_front)
    assert front["val_acc"].is_monotonic_decreasing  # best first by the first objective
    # what Optuna was told gives the same front
    study = optuna.load_study(study_name="multi", storage=f"sqlite:///{folder / OPTUNA_DB}")
    assert len(study.directions) == 2 and {t.user_attrs[RAY_TRIAL] for t in study.best_trials} == on_front


@pytest.mark.slow
def test_the_report_of_a_multi_objective_search_has_its_front(multi_search, tmp_path, capsys):
    folder, tracking_uri, _ = multi_search
    _, parent, children = _runs(tracking_uri)
    output = tmp_path / "report"
    assert main(["report", "alexnet-caltech", "--tracking-uri", tracking_uri, "--output", str(output)]) == 0
    page = (output / "report.md").read_text()
    section = page.split("## Pareto front\n", 1)[1].split("\n## ", 1)[0]
    assert "objectives: val_acc (max), epoch_time_s (min)" in section and "![pareto_front](pareto_front.png)" in section
    front = pd.read_csv(folder / "ray" / "multi" / "pareto_front.csv")
    table_rows = [line for line in section.splitlines() if line.startswith("|") and "---" not in line][1:]
    assert sorted(row.split("|")[1].strip() for row in table_rows) == sorted(front["trial"])
    assert (output / "pareto_front.png").stat().st_size > 0
    assert "| objectives" in page.split("## Pareto front")[0]  # the summary says them


def test_a_search_of_one_objective_has_no_front_section(tmp_path):
    from tunebench.study_report import _pareto_sections

    runs = pd.DataFrame({"run_id": ["r1"], "status": ["FINISHED"], "metrics.val_acc": [0.5]})
    assert _pareto_sections(pd.Series({"tags.objectives": "val_loss:min"}), runs, [], tmp_path) == []
    assert _pareto_sections(pd.Series({"run_id": "p"}), runs, [], tmp_path) == []
    [section] = _pareto_sections(pd.Series({"tags.objectives": "val_acc:max,model_mb:min"}), runs, [], tmp_path)
    assert section.table.empty and "No finished trial reported every one of them" in section.text

"""tunebench.reports: the results table of a search (best epoch per trial, how each trial ended, best first), and
the data behind `tunebench compare` and `report` on frames shaped like mlflow.search_runs'."""

from __future__ import annotations

import pandas as pd
import pytest

from tunebench.reports import (best_so_far_frame, compare_table, confusion_frame, curves_frame,
                               fill_best_from_histories, importances, one_factor_slice, one_factor_table, parse_param,
                               smoke_searches, trial_totals, trials_frame, trials_table, varied_params)


def _history(accs, early_stop_last=False):
    n = len(accs)
    return pd.DataFrame({"epoch": range(1, n + 1), "val_acc": accs, "val_loss": [1 - a for a in accs],
                         "early_stop": [0] * (n - 1) + [int(early_stop_last)]})


def test_trials_table_rows_outcomes_and_order():
    trials = [
        ("a", {"lr": 0.1}, _history([0.2, 0.5, 0.4]), False),           # all 3 epochs, best at 2
        ("b", {"lr": 0.01}, _history([0.6]), False),                     # cut by the scheduler after 1
        ("c", {"lr": 0.001}, _history([0.1, 0.1], early_stop_last=True), False),
        ("d", {"lr": 1.0}, pd.DataFrame(), True),                         # raised before reporting
    ]
    table = trials_table(trials, ["lr"], "val_acc", "max", max_epochs=3)
    assert list(table["trial"]) == ["b", "a", "c", "d"]
    a = table.set_index("trial").loc["a"]
    assert (a["val_acc"], a["val_loss"], a["best_epoch"], a["epochs"]) == (0.5, 0.5, 2, 3)
    assert dict(zip(table["trial"], table["outcome"])) == {
        "a": "completed", "b": "stopped by scheduler", "c": "early-stopped", "d": "error"}


T0 = pd.Timestamp("2026-11-22 10:00", tz="UTC")


def _trial_runs(parent="p1"):
    rows = []
    for i, (lr, step, acc, loss, epochs) in enumerate([(0.001, 5, 0.30, 2.0, 3), (0.01, 5, 0.55, 1.5, 3),
                                                       (0.01, 10, 0.60, 1.2, 3), (0.1, 10, 0.20, 3.0, 1)]):
        rows.append({"run_id": f"r{i}", "status": "FINISHED", "start_time": T0 + pd.Timedelta(minutes=i),
                     "end_time": T0 + pd.Timedelta(minutes=i + 2), "params.lr": str(lr), "params.step_size": str(step),
                     "metrics.best_val_acc": acc, "metrics.best_val_loss": loss, "tags.epochs_run": str(epochs),
                     "tags.outcome": "completed" if epochs == 3 else "stopped by scheduler", "tags.trial_id": f"t{i}",
                     "tags.mlflow.parentRunId": parent, "tags.benchmark": None})
    return pd.DataFrame(rows)


def _search_run(run_id="p1", benchmark="alexnet-caltech", test_acc=0.5):
    return {"run_id": run_id, "status": "FINISHED", "start_time": T0, "end_time": T0 + pd.Timedelta(minutes=10),
            "tags.benchmark": benchmark, "tags.mlflow.runName": f"search-{run_id}", "tags.search": "optuna",
            "tags.scheduler": "asha", "params.model": "alexnet", "tags.best.lr": "0.01", "tags.best.step_size": "10",
            "metrics.test_acc": test_acc, "tags.mlflow.parentRunId": None}


def test_params_come_back_typed():
    assert [parse_param(v) for v in ("0.01", "5", "1e-05", "None", "True", "adam")] == [0.01, 5, 1e-05, None, True,
                                                                                           "adam"]


def test_compare_rows_take_the_maxima_of_their_trial_runs_and_the_matching_report_row():
    from search_spaces import BENCHMARKS

    defaults = {f"params.{k}": str(v) for k, v in BENCHMARKS["alexnet-caltech"].defaults.items()}
    # p1 ran the report's scratch configuration at lr 1e-1 (T3.7: test 0.41); p2 a VGG16 the report never ran
    p1 = {**_search_run("p1"), **defaults, "params.swept": "lr,step_size", "tags.best.lr": "0.1",
          "tags.best.step_size": "20"}
    p2 = {**_search_run("p2", "vgg16-caltech", 0.9), **defaults, "params.model": "vgg16"}
    searches = pd.DataFrame([p1, p2])
    trials = pd.concat([_trial_runs("p1"), _trial_runs("p2").assign(run_id=lambda d: d.run_id + "b")])
    info = {name: {"dataset": "caltech101", "metric": "val_acc", "references": BENCHMARKS[name].reference}
            for name in ("alexnet-caltech", "vgg16-caltech")}
    table = compare_table(searches, trials, info).set_index("benchmark")
    row = table.loc["alexnet-caltech"]
    assert row["trials"] == 4 and row["stopped_early"] == 1 and row["epochs"] == 10
    assert row["best_metric"] == row["best_val_acc"] == 0.60
    assert row["best_hyperparameters"] == "lr=0.1, step_size=20"
    assert row["report row"] == "report 003 T3.7 lr=0.1" and row["report figure"] == "test_acc 0.41"
    assert row["test - report"] == pytest.approx(0.5 - 0.41)
    assert row["trial_hours"] == pytest.approx(4 * 2 / 60) and row["wall_minutes"] == pytest.approx(10)
    vgg = table.loc["vgg16-caltech"]  # scratch VGG16 (weights none): the report's VGG16 was pretrained
    assert vgg["report row"] == "no matching report row" and pd.isna(vgg["test - report"])


def test_trial_totals_add_up_a_searchs_trial_runs():
    runs = _trial_runs()
    runs.loc[3, "tags.outcome"] = "error"
    assert trial_totals(runs) == pytest.approx({
        "trials": 4, "trials_stopped_early": 0, "trials_failed": 1, "epochs_total": 10, "trial_hours": 8 / 60,
        "best_val_acc": 0.60, "best_val_loss": 1.2})
    assert trial_totals(runs.iloc[:0]) == {"trials": 0, "trials_stopped_early": 0, "trials_failed": 0,
                                           "epochs_total": 0, "trial_hours": 0.0}


def test_compare_reads_a_finished_searchs_totals_from_its_parent_run_and_an_unfinished_ones_trial_runs():
    """A finished search's parent run carries its trials' totals: compare needs none of its trial runs. A search
    that did not finish (killed, or still running) has older totals or none: its trial runs count."""
    from search_spaces import BENCHMARKS

    info = {"alexnet-caltech": {"dataset": "caltech101", "metric": "val_acc",
                                "references": BENCHMARKS["alexnet-caltech"].reference}}
    totals = {f"metrics.{k}": v for k, v in trial_totals(_trial_runs("p1")).items()}
    from_runs = compare_table(pd.DataFrame([_search_run("p1")]), _trial_runs("p1"), info)
    from_parent = compare_table(pd.DataFrame([{**_search_run("p1"), **totals}]), pd.DataFrame(), info)
    pd.testing.assert_frame_equal(from_runs, from_parent)
    stale = {**_search_run("p1"), **totals, "metrics.trials": 2, "status": "KILLED"}
    killed = compare_table(pd.DataFrame([stale]), _trial_runs("p1"), info).iloc[0]
    assert killed["trials"] == 4 and killed["epochs"] == 10


def test_compare_rows_show_the_recorded_dataset_and_match_no_report_row_on_other_data():
    """The same configuration as T3.7, run with `--dataset folder`: no report row (the report never saw those
    images); a search recorded before the dataset tag keeps the benchmark's dataset; a user's search-space file's
    search (no shipped benchmark) shows its own recorded dataset and metric."""
    from search_spaces import BENCHMARKS

    defaults = {f"params.{k}": str(v) for k, v in BENCHMARKS["alexnet-caltech"].defaults.items()}
    t37 = {**defaults, "params.swept": "lr,step_size", "tags.best.lr": "0.1", "tags.best.step_size": "20"}
    searches = pd.DataFrame([
        {**_search_run("p1"), **t37, "tags.dataset": "folder"},
        {**_search_run("p2"), **t37, "tags.dataset": "caltech101", "tags.mlflow.runName": "search-p2"},
        {**_search_run("p3"), **t37, "tags.dataset": None},
        {**_search_run("p4", "my-flowers"), "tags.dataset": "folder", "tags.metric": "val_loss"},
    ])
    trials = pd.concat([_trial_runs(p).assign(run_id=lambda d, p=p: d.run_id + p) for p in ("p1", "p2", "p3", "p4")])
    info = {"alexnet-caltech": {"dataset": "caltech101", "metric": "val_acc",
                                "references": BENCHMARKS["alexnet-caltech"].reference}}
    table = compare_table(searches, trials, info).set_index("search")
    assert table.loc["search-p1", "dataset"] == "folder"
    assert table.loc["search-p1", "report row"] == "none: ran on folder, not caltech101"
    assert pd.isna(table.loc["search-p1", "report figure"]) and pd.isna(table.loc["search-p1", "test - report"])
    for same in ("search-p2", "search-p3"):
        assert table.loc[same, "dataset"] == "caltech101" and table.loc[same, "report row"] == "report 003 T3.7 lr=0.1"
    own = table.loc["search-p4"]
    assert (own["benchmark"], own["dataset"], own["metric"], own["report row"]) == (
        "my-flowers", "folder", "val_loss", "no matching report row")
    assert own["best_metric"] == 1.2  # the lowest val_loss of its trial runs


def test_one_factor_table_holds_each_values_best_trial():
    trials = trials_frame(_trial_runs(), ["lr", "step_size"])
    table = one_factor_table(trials, "lr", "val_acc", "max")
    assert table["lr"].tolist() == [0.001, 0.01, 0.1]
    assert table["val_acc"].tolist() == [0.30, 0.60, 0.20] and table["val_loss"].tolist() == [2.0, 1.2, 3.0]
    assert table["trials"].tolist() == [1, 2, 1]


def test_importance_sums_to_one_and_favours_what_moved_the_metric():
    runs = _trial_runs()
    more = runs.assign(run_id=runs.run_id + "x", **{"params.step_size": runs["params.step_size"][::-1].values})
    trials = trials_frame(pd.concat([runs, more]), ["lr", "step_size"])
    weights = importances(trials, ["lr", "step_size"], "val_acc", "max")
    assert set(weights.index) == {"lr", "step_size"} and weights.sum() == pytest.approx(1.0)
    assert weights["lr"] > weights["step_size"]  # accuracy follows lr; step_size was shuffled
    assert importances(trials.head(1), ["lr"], "val_acc", "max").empty


def test_curves_best_so_far_and_filling_from_histories():
    trials = trials_frame(_trial_runs(), ["lr"])
    histories = pd.DataFrame([(f"r{i}", key, epoch, value, 0) for i in range(4) for epoch in (1, 2)
                              for key, value in (("val_acc", 0.1 * epoch + i / 10), ("val_loss", 3 - epoch))],
                             columns=["run_id", "key", "step", "value", "timestamp"])
    curves = curves_frame(histories, trials, "val_acc", "max")
    assert curves[curves["rank"] == 1]["trial"].unique().tolist() == ["t2"]
    assert len(curves) == 8 and {"val_acc", "val_loss", "epoch"} <= set(curves)

    progress = best_so_far_frame(trials, "val_acc", "max")
    assert progress["best"].tolist() == [0.30, 0.55, 0.60, 0.60]
    assert progress["cumulative_epochs"].tolist() == [3, 6, 9, 10]

    unlogged = trials.assign(best_val_acc=None)
    assert fill_best_from_histories(unlogged, histories)["best_val_acc"].tolist() == pytest.approx([0.2, 0.3, 0.4, 0.5])


def test_confusion_matrix():
    matrix = confusion_frame(pd.DataFrame({"true": ["a", "a", "b", "c"], "predicted": ["a", "b", "b", "a"]}),
                             ["a", "b", "c"])
    assert matrix.loc["a"].tolist() == [1, 1, 0] and matrix.loc["c"].tolist() == [1, 0, 0] and matrix.values.sum() == 4


def test_smoke_searches_by_their_tag_or_the_param_older_runs_carry():
    searches = pd.DataFrame([{**_search_run("a"), "tags.smoke": "True", "params.smoke": "True"},
                             {**_search_run("b"), "tags.smoke": "False", "params.smoke": "False"},
                             {**_search_run("c"), "tags.smoke": None, "params.smoke": "True"},  # before the tag
                             {**_search_run("d"), "tags.smoke": None, "params.smoke": None}])
    assert smoke_searches(searches).tolist() == [True, False, True, False]
    assert not smoke_searches(pd.DataFrame([_search_run("e")])).any()  # a store with neither column


def test_one_factor_slice_holds_the_other_keys_still():
    """(lr, step_size): (0.001, 5) (0.01, 5) (0.01, 10) (0.1, 10). lr moved alone at step_size 5 and at 10, as
    often: the tie goes to the group of the best trial (0.01, 10); step_size moved alone only at lr 0.01."""
    trials = trials_frame(_trial_runs(), ["lr", "step_size"])
    subset, fixed = one_factor_slice(trials, "lr", ["lr", "step_size"], "val_acc", "max")
    assert sorted(subset["lr"]) == [0.01, 0.1] and fixed == {"step_size": 10}
    subset, fixed = one_factor_slice(trials, "step_size", ["lr", "step_size"], "val_acc", "max")
    assert sorted(subset["step_size"]) == [5, 10] and fixed == {"lr": 0.01}
    subset, fixed = one_factor_slice(trials, "lr", ["lr", "step_size"], "val_loss", "min")  # same best trial
    assert fixed == {"step_size": 10}
    alone, fixed = one_factor_slice(trials, "lr", ["lr"], "val_acc", "max")  # the only swept key: every trial
    assert len(alone) == 4 and fixed == {}
    sampled = trials.assign(step_size=[5, 10, 15, 20])  # every trial moved both keys: no slice
    assert one_factor_slice(sampled, "lr", ["lr", "step_size"], "val_acc", "max")[0].empty


def test_varied_params_count_only_trials_that_reported_the_metric():
    trials = trials_frame(_trial_runs(), ["lr", "step_size"])
    trials.loc[trials["step_size"] == 10, "best_val_acc"] = None
    finished, varied = varied_params(trials, ["lr", "step_size"], "val_acc")
    assert len(finished) == 2 and varied == ["lr"]  # step_size was 5 in both finished trials

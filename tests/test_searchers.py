"""--search grid and --search coordinate run exactly the report's configurations, through a real Tune."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from ray import tune

from search_spaces import BENCHMARKS
from tunebench.search import SearchOptions, plan_search
from tunebench.search.coordinate import CoordinateSearch

ALEXNET = BENCHMARKS["alexnet-caltech"]
KEYS = ("lr", "step_size", "weight_decay", "gamma")


def _score(config) -> float:
    """A known landscape: best lr 1e-2, step_size 10, weight_decay 5e-6, gamma 0.3."""
    return (-abs(math.log10(config["lr"]) + 2) - abs(config["step_size"] - 10) / 100
            - abs(config["weight_decay"] - 5e-6) * 1000 - abs(config["gamma"] - 0.3))


def _searcher(plan, max_concurrent=None):
    return plan.method.searcher(plan, SearchOptions(data_dir=Path("."), seed=0, max_concurrent=max_concurrent))


def _run(plan, tmp_path: Path):
    def objective(config):
        tune.report({"val_acc": _score(config)})

    tuner = tune.Tuner(objective, param_space=plan.param_space(),
                       tune_config=tune.TuneConfig(metric="val_acc", mode="max", num_samples=plan.num_samples,
                                                   search_alg=_searcher(plan), reuse_actors=True),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
    return [tuple(r.config[k] for k in KEYS) for r in tuner.fit()]


def test_grid_is_the_reports_values_or_the_subset_set(ray_local, tmp_path):
    full = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, search="grid"))
    assert {k: list(v) for k, v in full.swept.items()} == {k: list(v) for k, v in ALEXNET.grid.items()}
    assert full.scheduler == "fifo" and full.num_samples == 1

    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, search="grid",
                                              overrides={"lr": [1e-3, 1e-1], "gamma": [0.2]}))
    configs = _run(plan, tmp_path)
    expected = {(lr, s, wd, 0.2) for lr, s, wd in itertools.product(
        [1e-3, 1e-1], ALEXNET.grid["step_size"], ALEXNET.grid["weight_decay"])}
    assert len(configs) == 24 and set(configs) == expected


def test_coordinate_search_keeps_the_best_and_searches_the_next(ray_local, tmp_path):
    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, search="coordinate"))
    configs = _run(plan, tmp_path)
    # from the report's defaults (1e-3, 20, 5e-5, 0.1); a configuration already run is not run again
    expected_rounds = [
        [(1e-3, 20, 5e-5, 0.1), (1e-2, 20, 5e-5, 0.1), (1e-1, 20, 5e-5, 0.1)],   # lr: 1e-2 is kept
        [(1e-2, 5, 5e-5, 0.1), (1e-2, 10, 5e-5, 0.1), (1e-2, 15, 5e-5, 0.1)],    # step_size: 10
        [(1e-2, 10, 5e-4, 0.1), (1e-2, 10, 5e-6, 0.1)],                          # weight_decay: 5e-6
        [(1e-2, 10, 5e-6, 0.2), (1e-2, 10, 5e-6, 0.3), (1e-2, 10, 5e-6, 0.5)],   # gamma: 0.3
    ]
    assert len(configs) == 11
    start = 0
    for round_configs in expected_rounds:
        assert set(configs[start:start + len(round_configs)]) == set(round_configs)
        start += len(round_configs)


def test_coordinate_waits_for_a_round_before_choosing():
    searcher = CoordinateSearch({"a": [1, 2], "b": [10, 20]}, {"a": 1, "b": 10}, metric="m", mode="min")
    searcher.set_search_properties("m", "min", {})
    assert searcher.suggest("t1") == {"a": 1, "b": 10}
    assert searcher.suggest("t2") == {"a": 2, "b": 10}
    assert searcher.suggest("t3") is None  # round "a" still running
    searcher.on_trial_complete("t1", {"m": 5.0})
    assert searcher.suggest("t3") is None
    searcher.on_trial_complete("t2", {"m": 1.0})
    assert searcher.suggest("t3") == {"a": 2, "b": 20}  # a=2 was better (mode min); b=10 already run
    searcher.on_trial_complete("t3", error=True)  # a failed trial has no score: the earlier best stays
    assert searcher.suggest("t4") == CoordinateSearch.FINISHED
    assert searcher.rounds == [("a", 2), ("b", 10)]


def test_coordinate_keeps_the_current_value_on_a_tie():
    searcher = CoordinateSearch({"a": [1, 2, 3]}, {"a": 2}, metric="m", mode="max")
    searcher.set_search_properties("m", "max", {})
    for trial in ("t1", "t2", "t3"):
        searcher.suggest(trial)
    for trial in ("t1", "t2", "t3"):
        searcher.on_trial_complete(trial, {"m": 0.5})
    assert searcher.suggest("t4") == CoordinateSearch.FINISHED and searcher.best == {"a": 2}


def test_optuna_and_random_sweep_the_space_minus_fixed_keys(tmp_path):
    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, overrides={"lr": [0.01], "gamma": [0.1, 0.5]}))
    assert plan.search == "optuna" and plan.scheduler == "asha"
    assert "lr" not in plan.swept and plan.config["lr"] == 0.01
    assert list(plan.swept["gamma"].categories) == [0.1, 0.5]


@pytest.mark.parametrize("search", ["optuna", "grid"])
def test_plan_knows_every_value_a_key_can_take(tmp_path, search):
    # run_search prefetches ImageNet weights when any trial can use them, whatever the searcher
    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, search=search,
                                              overrides={"weights": ["none", "imagenet"], "freeze": ["conv"]}))
    assert plan.values("weights") == ["none", "imagenet"]
    assert plan.values("freeze") == ["conv"]
    assert plan.values("lr") == (list(ALEXNET.grid["lr"]) if search == "grid" else [])  # loguniform: no list


def test_smoke_scales_down(tmp_path):
    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, smoke=True))
    assert plan.max_epochs <= 2 and plan.num_samples <= 2
    assert plan.config["image_size"] == 64 and plan.config["limit_per_class"] == 4
    assert plan.config["epochs"] == plan.max_epochs and plan.config["model"] == "alexnet"


def test_max_concurrent_holds_for_the_grid(ray_local, tmp_path):
    """Tune ignores max_concurrent_trials for grid/random searches; the searcher itself must enforce it."""
    import time

    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, search="grid",
                                              overrides={"lr": [1e-3, 1e-2], "step_size": [5, 10], "gamma": [0.1],
                                                         "weight_decay": [5e-5]}))

    def objective(config):
        start = time.time()
        time.sleep(1.0)
        tune.report({"val_acc": 0.0, "start": start, "end": time.time()})

    tuner = tune.Tuner(objective, param_space=plan.param_space(),
                       tune_config=tune.TuneConfig(metric="val_acc", mode="max",
                                                   search_alg=_searcher(plan, max_concurrent=1)),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
    spans = sorted((r.metrics["start"], r.metrics["end"]) for r in tuner.fit())
    assert len(spans) == 4
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:]))  # one at a time


def test_optuna_does_not_train_a_configuration_twice(ray_local, tmp_path):
    """TPE's random start re-proposes configurations of a small categorical space; each runs once."""
    plan = plan_search(ALEXNET, SearchOptions(data_dir=tmp_path, search="optuna", overrides={
        "lr": [1e-3, 1e-2], "step_size": [5, 10, 15], "weight_decay": [5e-5], "gamma": [0.1]}))

    def objective(config):
        tune.report({"val_acc": _score(config)})

    tuner = tune.Tuner(objective, param_space=plan.param_space(),
                       tune_config=tune.TuneConfig(metric="val_acc", mode="max", num_samples=6,
                                                   search_alg=_searcher(plan), max_concurrent_trials=1),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
    configs = [tuple(r.config[k] for k in KEYS) for r in tuner.fit()]
    assert len(set(configs)) == 6  # all six configurations, none twice (random draws: 6!/6^6 = 1.5% chance)

"""A benchmark's conditions (`conditions=dict(freeze_depth=when(weights="imagenet"))`): declared and checked, and
no search proposes a combination they forbid: Optuna's samplers (driven directly), the grid (through a real Tune),
random search's seeded draws, coordinate and oneway, and a whole search's trial runs in MLflow."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from search_spaces import BENCHMARKS
from tunebench.benchmark import Benchmark, Conditions, when
from tunebench.cli import main
from tunebench.reports import parse_param
from tunebench.search import SearchOptions, plan_search
from tunebench.search.methods import SAMPLERS

ARTWORKS = BENCHMARKS["resnet50-artworks"]
METRIC = ARTWORKS.metric


def _forbidden(config) -> bool:
    return config["weights"] == "none" and config["freeze_depth"] != 0


def _options(**kwargs) -> SearchOptions:
    return SearchOptions(data_dir=Path("."), **{"seed": 0, **kwargs})


def _searcher(plan, options):
    searcher = plan.method.searcher(plan, options)
    searcher.set_search_properties(METRIC, ARTWORKS.mode, plan.param_space())
    return searcher


def _score(config) -> float:
    """A landscape that pulls towards frozen stages of random weights: a sampler that could propose them would."""
    return config["freeze_depth"] / 10 + (config["weights"] == "none") - config["gamma"] / 10


# declaring them

def test_when_names_keys_and_values():
    rule = when(weights="imagenet", model=("resnet50", "resnet50-modified"))
    assert rule.keys == ("weights", "model")
    assert rule.holds({"weights": "imagenet", "model": "resnet50-modified"})
    assert not rule.holds({"weights": "none", "model": "resnet50"})
    assert not rule.holds({"weights": "imagenet", "model": "alexnet"})
    assert repr(when(weights="imagenet")) == "when(weights='imagenet')"
    assert when(freeze_depth=[4, 5]).holds({"freeze_depth": 5.0})  # numbers compare as numbers
    with pytest.raises(ValueError, match="name the keys"):
        when()


@pytest.mark.parametrize("conditions,message", [
    (dict(lr=when(optimizer="sgd")), r"keys without a default: \['optimizer'\]"),   # the key it is on
    (dict(momentum=when(lr=0.1)), r"keys without a default: \['momentum'\]"),      # the conditioned key
    (dict(lr=when(gamma=0.1), gamma=when(lr=0.1)), "in a circle"),
    (dict(lr="sgd"), "expected when"),
])
def test_a_benchmark_refuses_conditions_it_cannot_apply(conditions, message):
    with pytest.raises(ValueError, match=message):
        Benchmark(name="b", seed_report="000", dataset="caltech101", model="alexnet", max_epochs=1,
                  defaults=dict(lr=0.01, gamma=0.1), space={}, conditions=conditions)


@pytest.mark.parametrize("benchmark,condition,message", [
    ("alexnet-caltech", "gamma=when(nesterov=True)", "keys without a default: ['nesterov']"),
    ("resnet50-artworks", "freeze_depth=when(weights='imagenett')",
     "conditions freeze_depth: when weights=imagenett: must be one of none, imagenet"),  # as --set would say
])
def test_a_user_file_with_bad_conditions_is_a_one_line_error(tmp_path, capsys, benchmark, condition, message):
    space = tmp_path / "conditional.py"
    space.write_text("from dataclasses import replace\nfrom search_spaces import BENCHMARKS\nfrom tunebench.benchmark "
                     f"import when\nBENCHMARK = replace(BENCHMARKS['{benchmark}'], name='c', "
                     f"conditions=dict({condition}))\n")
    assert main(["show", str(space)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_conditions_are_applied_parents_first():
    benchmark = Benchmark(name="b", seed_report="000", dataset="caltech101", model="alexnet", max_epochs=1,
                          defaults=dict(a="x", b=1, c=2.0), space={},
                          conditions=dict(c=when(b=(2, 3)), b=when(a="y")))  # c depends on b, which depends on a
    rules = benchmark.condition_rules()
    assert list(rules.rules) == ["b", "c"]
    assert rules.apply({"a": "x", "b": 3, "c": 5.0}) == {"a": "x", "b": 1, "c": 2.0}  # b inactive, so c too
    assert rules.apply({"a": "y", "b": 3, "c": 5.0}) == {"a": "y", "b": 3, "c": 5.0}
    assert rules.order(["c", "a", "b"]) == ["a", "b", "c"]
    # a forbidden point becomes the allowed one; a repeat of an earlier point is dropped
    assert rules.distinct({"a": "x", "b": 1, "c": 2.0}, [{"b": 2}, {}, {"a": "y", "b": 2}, {"c": 9.0}]) == [
        {"b": 1}, {"a": "y", "b": 2}]


def test_shipped_artworks_declares_freeze_depth_with_imagenet_weights_only(capsys):
    assert ARTWORKS.conditions == {"freeze_depth": when(weights="imagenet")}
    assert main(["show", "resnet50-artworks"]) == 0
    assert "freeze_depth: when weights=imagenet (else 0)" in capsys.readouterr().out
    unconditioned = [b.name for b in BENCHMARKS.values() if not b.conditions]
    assert "alexnet-caltech" in unconditioned and "resnet50-artworks" not in unconditioned


# Optuna

SAMPLED = [name for name in ("tpe", "gp", "cmaes", "qmc", "random") if name in SAMPLERS]


@pytest.mark.parametrize("sampler", SAMPLED)
def test_optuna_never_proposes_frozen_stages_of_random_weights(sampler):
    """The shipped artworks space, all five keys swept, each sampler told every result: freeze_depth is an Optuna
    parameter only of the trials with ImageNet weights, and every other trial's config carries its default 0."""
    options = _options(sampler=sampler)
    plan = plan_search(ARTWORKS, options)
    assert list(plan.conditions.rules) == ["freeze_depth"] and "weights" in plan.swept
    searcher = _searcher(plan, options)
    configs = []
    for i in range(15 if sampler == "gp" else 60):  # GP proposes slowly as trials accumulate
        config = searcher.suggest(f"t{i}")
        configs.append(config)
        searcher.on_trial_complete(f"t{i}", {METRIC: _score(config), "training_iteration": 1})
    assert not [c for c in configs if _forbidden(c)]
    assert {c["weights"] for c in configs} == {"none", "imagenet"}
    assert any(c["freeze_depth"] > 0 for c in configs)  # searched where it is active
    for trial in searcher._ot_study.get_trials():
        assert ("freeze_depth" in trial.params) == (trial.params["weights"] == "imagenet")


def test_optuna_with_the_parent_fixed_never_searches_the_key():
    """--set weights=none: freeze_depth is never suggested; the trials carry 0 (--smoke fixes weights=none too)."""
    options = _options(overrides={"weights": ["none"]})
    plan = plan_search(ARTWORKS, options)
    assert plan.config["freeze_depth"] == 0 and "freeze_depth" in plan.swept
    searcher = _searcher(plan, options)
    for i in range(12):
        config = searcher.suggest(f"t{i}")
        assert config["freeze_depth"] == 0
        searcher.on_trial_complete(f"t{i}", {METRIC: _score({**config, "weights": "none"}), "training_iteration": 1})
    assert all("freeze_depth" not in t.params for t in searcher._ot_study.get_trials())


def test_a_space_without_conditions_on_it_stays_optunas_plain_dict():
    plan = plan_search(BENCHMARKS["alexnet-caltech"], _options())
    assert not plan.conditions
    searcher = plan.method.searcher(plan, _options())
    searcher.set_search_properties("val_acc", "max", plan.param_space())
    assert isinstance(searcher._space, dict)


# random search

def _draws(plan, options, samples: int):
    """The configurations Ray Tune's random search (the plan's searcher) generates, as Tune asks for them."""
    from ray.tune.experiment import Experiment

    searcher = plan.method.searcher(plan, options)
    searcher.add_configurations(Experiment("draws", run=lambda config: None, config=plan.param_space(),
                                           num_samples=samples, storage_path=str(Path.cwd())))
    configs = []
    while (trial := searcher.next_trial()) is not None:
        configs.append({key: trial.config[key] for key in plan.swept})
    return configs


def test_random_draws_honour_the_conditions_and_stay_seeded(in_tmp):
    options = _options(search="random")
    plan = plan_search(ARTWORKS, options)
    first = _draws(plan, options, 40)
    assert len(first) == 40 and not [c for c in first if _forbidden(c)]
    assert any(c["weights"] == "none" for c in first) and any(c["freeze_depth"] > 0 for c in first)
    assert _draws(plan_search(ARTWORKS, options), options, 40) == first  # the same seed: the same draws
    other = _options(search="random", seed=1)
    assert _draws(plan_search(ARTWORKS, other), other, 40) != first


# the report's values: grid, coordinate, oneway

def test_the_grid_runs_only_allowed_combinations_each_once(ray_local, tmp_path):
    """--set weights=none,imagenet over the grid's freeze_depth (0, 5, 4) x model: 12 combinations, of which the
    4 with random weights and frozen stages become freeze_depth 0 (2 already there): 8 trials through Ray Tune."""
    from ray import tune

    options = _options(search="grid", overrides={"weights": ["none", "imagenet"]})
    plan = plan_search(ARTWORKS, options)
    assert plan.num_samples == len(plan.points) == 8

    def objective(config):
        tune.report({METRIC: _score({**config, "gamma": 0.7})})

    tuner = tune.Tuner(objective, param_space=plan.param_space(),
                       tune_config=tune.TuneConfig(metric=METRIC, mode="max", num_samples=plan.num_samples,
                                                   search_alg=plan.method.searcher(plan, options), reuse_actors=True),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
    configs = [(r.config["weights"], r.config["freeze_depth"], r.config["model"]) for r in tuner.fit()]
    expected = {(w, f, m) for w in ("none", "imagenet") for f in (0, 5, 4) for m in ("resnet50", "resnet50-modified")
                if w == "imagenet" or f == 0}
    assert len(configs) == 8 and set(configs) == expected


def test_a_grid_the_conditions_leave_whole_stays_tunes_grid():
    plan = plan_search(ARTWORKS, _options(search="grid"))  # weights=imagenet fixed: every freeze depth allowed
    assert plan.points == [] and plan.num_samples == 1
    assert plan.param_space()["freeze_depth"] == {"grid_search": [0, 5, 4]}


def test_oneway_and_coordinate_never_run_a_forbidden_combination():
    options = _options(search="oneway", overrides={"weights": ["none"]})
    plan = plan_search(ARTWORKS, options)
    assert plan.points == [{}, {"model": "resnet50-modified"}]  # freeze_depth 5 and 4 are the start, run once

    options = _options(search="coordinate", overrides={"weights": ["imagenet", "none"]})
    plan = plan_search(ARTWORKS, options)
    searcher = plan.method.searcher(plan, options)
    searcher.set_search_properties(METRIC, "max", plan.param_space())
    proposed, i = [], 0
    while (config := searcher.suggest(f"t{i}")) not in (None, searcher.FINISHED):
        proposed.append(config)
        # random weights score best, so the weights round keeps "none" and then nothing is left to freeze
        searcher.on_trial_complete(f"t{i}", {METRIC: _score({"freeze_depth": 0, **config, "gamma": 0.7})})
        i += 1
    assert not [c for c in proposed if _forbidden(c)]
    keys = [(c["freeze_depth"], c["model"], c["weights"]) for c in proposed]
    assert len(keys) == len(set(keys))
    assert keys[:3] == [(0, "resnet50", "imagenet"), (5, "resnet50", "imagenet"), (4, "resnet50", "imagenet")]
    assert searcher.rounds == [("freeze_depth", 5), ("model", "resnet50"), ("weights", "none")]
    assert searcher.best == {"freeze_depth": 0, "model": "resnet50", "weights": "none"}


def test_conditions_survive_pickling_with_the_searcher(tmp_path):
    """Ray Tune saves the searcher's state with its trials: the define-by-run space goes with it."""
    options = _options()
    plan = plan_search(ARTWORKS, options)
    searcher = _searcher(plan, options)
    searcher.suggest("t0")
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = plan.method.searcher(plan, options)
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert restored.set_search_properties(METRIC, "max", plan.param_space()) is False  # set up already
    assert not [c for c in (restored.suggest(f"r{i}") for i in range(10)) if _forbidden(c)]


# a whole search

@pytest.mark.slow
@pytest.mark.parametrize("search", ["random", "optuna"])
def test_a_search_records_the_inactive_keys_at_their_default(ray_local, in_tmp, tracking_uri, caltech_session_tree,
                                                             capsys, search):
    """A user's search-space file with a condition (gamma only when step_size is 5), run by `tunebench search`:
    every trial run's params carry gamma's default where step_size is not 5."""
    space = in_tmp / "conditional_caltech.py"
    space.write_text(
        "from search_spaces._caltech import DEFAULTS\n"
        "from tunebench.benchmark import Benchmark, tune, when\n"
        "BENCHMARK = Benchmark(name='conditional-caltech', seed_report='003', dataset='caltech101', model='tiny-cnn',\n"
        "    max_epochs=1, defaults={**DEFAULTS, 'model': 'tiny-cnn', 'image_size': 32, 'batch_size': 8},\n"
        "    space=dict(step_size=tune.choice([5, 10]), gamma=tune.uniform(0.2, 0.9)),\n"
        "    conditions=dict(gamma=when(step_size=5)))\n")
    assert main(["show", str(space)]) == 0
    assert "gamma: when step_size=5 (else 0.1)" in capsys.readouterr().out
    assert main(["search", str(space), "--search", search, "--num-samples", "6", "--data-dir",
                 str(caltech_session_tree), "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray"),
                 "--name", "conditional"]) == 0, capsys.readouterr().err[-3000:]
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("conditional-caltech").experiment_id],
                              "tags.trial_id != ''")
    pairs = [(parse_param(r.data.params["step_size"]), parse_param(r.data.params["gamma"])) for r in runs]
    assert len(pairs) == 6
    assert all(gamma == 0.1 for step, gamma in pairs if step == 10)
    assert all(0.2 <= gamma <= 0.9 for step, gamma in pairs if step == 5)
    assert {step for step, _ in pairs} == {5, 10}


def test_replace_keeps_the_conditions_checked():
    """search_spaces fills the references with dataclasses.replace: the conditions are frozen and checked again."""
    again = replace(ARTWORKS, reference=())
    assert again.conditions == ARTWORKS.conditions and isinstance(again.condition_rules(), Conditions)
    with pytest.raises(ValueError, match="keys without a default"):
        replace(ARTWORKS, conditions=dict(freeze_depth=when(backbone="vgg16")))

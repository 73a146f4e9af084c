"""--warm-start report | mlflow[:SEARCH]: what a search starts from. The report's configurations as the first
trials (in the order of their published figures), earlier searches' finished trials read back from a real SQLite
MLflow store and told to the sampler (not stored as this search's trials, never trained again), one-line errors, and
whole searches through the command line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from search_spaces import BENCHMARKS
from tunebench import TunebenchError
from tunebench.benchmark import tune
from tunebench.cli import main
from tunebench.references import Reference, headline
from tunebench.reports import parse_param
from tunebench.search import SearchOptions, plan_search
from tunebench.search.warm_start import WarmStart, earlier_trials, parse, report_points, warm_start
from tunebench.tracking import Tag, Tracker

ALEXNET = BENCHMARKS["alexnet-caltech"]
ARTWORKS = BENCHMARKS["resnet50-artworks"]
KEYS = ("lr", "step_size", "weight_decay", "gamma")
# a space of four configurations: step_size x gamma, the rest fixed
SMALL = {"lr": [0.01], "weight_decay": [5e-5], "step_size": [5, 10], "gamma": [0.1, 0.5]}
TINY = ["--smoke", "--max-epochs", "1", "--set", "image_size=32", "batch_size=8"]


def _options(**kwargs) -> SearchOptions:
    return SearchOptions(data_dir=Path("."), **{"seed": 0, **kwargs})


def _searcher(plan, options, metric="val_acc"):
    searcher = plan.method.searcher(plan, options)
    searcher.set_search_properties(metric, "max", plan.param_space())
    return searcher


def _one_line_error(capsys, argv, message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err, err


# the option and its errors

def test_the_option_names_a_source():
    assert parse("report") == ("report", None) and parse("mlflow") == ("mlflow", None)
    assert parse("mlflow:abc123") == ("mlflow", "abc123")
    for bad in ("reports", "report:x", "mlflow:", ""):
        with pytest.raises(TunebenchError, match="expected report, mlflow or mlflow:SEARCH"):
            parse(bad)


@pytest.mark.parametrize("argv,message", [
    (["resnet50-artworks", "--warm-start", "report"], "resnet50-artworks has no report figures to start from"),
    (["alexnet-caltech", "--warm-start", "mlflow"], "--warm-start mlflow: no earlier search of alexnet-caltech in"),
    (["alexnet-caltech", "--search", "grid", "--warm-start", "report"],
     "--warm-start report: for --search optuna or random, not --search grid"),
    (["alexnet-caltech", "--search", "random", "--warm-start", "mlflow"],
     "--warm-start mlflow: for --search optuna, not --search random"),
    (["alexnet-caltech", "--warm-start", "mlflow:"], "expected report, mlflow or mlflow:SEARCH"),
])
def test_nothing_to_start_from_is_a_one_line_error(in_tmp, tracking_uri, capsys, argv, message):
    _one_line_error(capsys, ["search", *argv, "--tracking-uri", tracking_uri, "--data-dir", str(in_tmp),
                             "--storage-path", str(in_tmp / "ray")], message)
    assert not (in_tmp / "ray").exists()  # refused before the search folder (and Ray) started


# report

def test_the_reports_configurations_best_figure_first_each_once():
    plan = plan_search(ALEXNET, _options())
    points = report_points(ALEXNET, plan)
    ranked = sorted(ALEXNET.reference, key=lambda r: -r.figures[headline(r.figures)])
    assert points[0] == {k: ranked[0].config[k] for k in KEYS}  # the best published figure's configuration
    restricted = {tuple(r.config[k] for k in KEYS) for r in ALEXNET.reference}
    assert len(points) == len(restricted) == 11 and {tuple(p[k] for k in KEYS) for p in points} == restricted
    assert all(set(p) == set(KEYS) for p in points)


def test_report_points_are_made_valid_for_the_space():
    # a choice without the report's lr=1e-3: those configurations left out
    plan = plan_search(ALEXNET, _options(overrides={"lr": [0.01, 0.1]}))
    assert {p["lr"] for p in report_points(ALEXNET, plan)} == {0.01, 0.1}
    # a narrower range: the report's values brought to its bounds (duplicates dropped)
    narrow = replace(ALEXNET, space={**ALEXNET.space, "lr": tune.loguniform(2e-3, 0.05)})
    points = report_points(narrow, plan_search(narrow, _options()))
    assert {p["lr"] for p in points} == {2e-3, 0.01, 0.05}
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)
    # a fixed key is not swept: only the swept keys are a point's
    plan = plan_search(ALEXNET, _options(overrides={"gamma": [0.1], "weight_decay": [5e-5]}))
    assert all(set(p) == {"lr", "step_size"} for p in report_points(ALEXNET, plan))


def test_report_points_obey_the_conditions():
    figures = lambda value: {"val_macro_recall": value}  # noqa: E731
    reference = (Reference("scratch, frozen", {**ARTWORKS.defaults, "weights": "none", "freeze_depth": 5}, figures(0.3)),
                 Reference("scratch", {**ARTWORKS.defaults, "weights": "none", "freeze_depth": 0}, figures(0.2)),
                 Reference("fine-tuned, frozen", {**ARTWORKS.defaults, "freeze_depth": 4}, figures(0.9)))
    benchmark = replace(ARTWORKS, reference=reference)
    plan = plan_search(benchmark, _options())
    points = report_points(benchmark, plan)
    assert [(p["weights"], p["freeze_depth"]) for p in points] == [("imagenet", 4), ("none", 0)]
    plan.warm = WarmStart("x", points=tuple(points))  # enqueued in the define-by-run space, in order
    searcher = _searcher(plan, _options(), metric=ARTWORKS.metric)
    assert [searcher.suggest("t0"), searcher.suggest("t1")] == points
    assert "freeze_depth" not in searcher._ot_study.get_trials()[1].params


def test_report_points_are_the_first_suggestions_in_order():
    plan = plan_search(ALEXNET, _options())
    plan.warm = warm_start(ALEXNET, plan, _options(warm_start="report"), tracker=None, say=lambda line: None)
    assert plan.warm.note == "report: 11 configurations"
    searcher = _searcher(plan, _options())
    suggested = [searcher.suggest(f"t{i}") for i in range(12)]
    assert suggested[:11] == list(plan.warm.points)
    assert suggested[11] not in suggested[:11]  # then the sampler's own


def test_random_search_runs_the_report_points_first(in_tmp):
    from ray.tune.experiment import Experiment

    options = _options(search="random", warm_start="report")
    plan = plan_search(ALEXNET, options)
    plan.warm = warm_start(ALEXNET, plan, options, tracker=None, say=lambda line: None)
    searcher = plan.method.searcher(plan, options)
    searcher.add_configurations(Experiment("draws", run=lambda config: None, config=plan.param_space(),
                                           num_samples=13, storage_path=str(in_tmp)))
    trials = [searcher.next_trial() for _ in range(13)]
    assert [{k: t.config[k] for k in KEYS} for t in trials[:11]] == list(plan.warm.points)


# mlflow: reading earlier searches

def _record(tracker: Tracker, name: str, plan, trials, dataset: str = "caltech101") -> str:
    """A search's parent run and its trial runs: (swept values and other params, {metric: last value}, status);
    each metric is logged at two epochs, the last one the value given."""
    experiment = tracker.experiment_id(ALEXNET.name)
    parent = tracker.start_run(experiment, name, {}, {Tag.BENCHMARK: ALEXNET.name, Tag.DATASET: dataset})
    for i, (values, metrics, status) in enumerate(trials):
        run = tracker.start_run(experiment, f"{name}-{i + 1:03d}", {**plan.config, **values},
                                {Tag.PARENT: parent, Tag.TRIAL: f"{name}_{i}"})
        tracker.log_metrics(run, {k: v - 0.25 for k, v in metrics.items()}, step=1)
        tracker.log_metrics(run, metrics, step=2)
        tracker.end_run(run, status)
    tracker.end_run(parent, "FINISHED")
    return parent


@pytest.fixture
def earlier(tracking_uri):
    """Two earlier searches of the small space: 3 of their 6 finished trials are of this search."""
    plan = plan_search(ALEXNET, _options(overrides=SMALL))
    tracker = Tracker(tracking_uri)
    first = _record(tracker, "first", plan, [
        ({"step_size": 5, "gamma": 0.1}, {"val_acc": 0.5, "epoch_time_s": 3.0}, "FINISHED"),
        ({"step_size": 10, "gamma": 0.5}, {"val_acc": 0.7, "epoch_time_s": 2.0}, "FINISHED"),
        ({"step_size": 15, "gamma": 0.1}, {"val_acc": 0.9}, "FINISHED"),       # step_size outside this space
        ({"step_size": 5, "gamma": 0.5}, {"val_acc": 0.8}, "FAILED"),          # not finished
        ({"step_size": 10, "gamma": 0.1, "lr": 0.1}, {"val_acc": 0.8}, "FINISHED"),  # another fixed lr
        ({"step_size": 10, "gamma": 0.1}, {"train_loss": 1.0}, "FINISHED"),    # no value of the metric
    ])
    second = _record(tracker, "second", plan, [
        ({"step_size": 10, "gamma": 0.1}, {"val_acc": 0.6}, "FINISHED")])
    _record(tracker, "own-images", plan, [({"step_size": 5, "gamma": 0.5}, {"val_acc": 0.1}, "FINISHED")],
            dataset="folder")  # the recipe on other images: not this benchmark's records
    return tracker, first, second


def test_earlier_trials_inside_this_search_with_their_last_values(earlier):
    tracker, first, second = earlier
    plan = plan_search(ALEXNET, _options(overrides=SMALL))
    evaluated, used, skipped = earlier_trials(ALEXNET, plan, tracker, None)
    assert sorted((v["step_size"], v["gamma"], value) for v, value in evaluated) == [
        (5, 0.1, 0.5), (10, 0.1, 0.6), (10, 0.5, 0.7)]
    assert used == [first, second] and skipped == 3
    lines = []
    warm = warm_start(ALEXNET, plan, _options(overrides=SMALL, warm_start="mlflow"), tracker, lines.append)
    assert warm.note == f"mlflow: 3 trials of runs {first}, {second}" and not warm.points
    assert lines == [f"warm start: 3 trials of 2 earlier searches of alexnet-caltech ({first}, {second}) given to "
                     f"the sampler (3 other finished trials outside this search's space or settings)"]


def test_one_earlier_search_by_run_id_or_name(earlier):
    tracker, first, second = earlier
    plan = plan_search(ALEXNET, _options(overrides=SMALL))
    for search in (second, "second"):
        evaluated, used, _ = earlier_trials(ALEXNET, plan, tracker, search)
        assert used == [second] and [(v["step_size"], v["gamma"]) for v, _ in evaluated] == [(10, 0.1)]
    with pytest.raises(TunebenchError, match="--warm-start mlflow:nope: no search of alexnet-caltech in .* has that"):
        earlier_trials(ALEXNET, plan, tracker, "nope")
    # a search whose trials are all outside this space: a one-line error
    other = plan_search(ALEXNET, _options(overrides={**SMALL, "lr": [0.05]}))
    with pytest.raises(TunebenchError, match="no finished trial of an earlier search .* that this search could have"):
        earlier_trials(ALEXNET, other, tracker, None)


def test_a_multi_objective_search_reads_each_objectives_value(earlier):
    tracker, *_ = earlier
    plan = plan_search(ALEXNET, _options(overrides=SMALL, objectives=(("val_acc", "max"), ("epoch_time_s", "min"))))
    evaluated, _, _ = earlier_trials(ALEXNET, plan, tracker, None)
    assert sorted((v["step_size"], v["gamma"], tuple(values)) for v, values in evaluated) == [
        (5, 0.1, (0.5, 3.0)), (10, 0.5, (0.7, 2.0))]
    options = _options(overrides=SMALL, objectives=plan.objectives)
    plan.warm = WarmStart("x", evaluated=tuple(evaluated))
    searcher = plan.method.searcher(plan, options)
    searcher.set_search_properties("val_acc", "max", plan.param_space())
    assert searcher.warm_trials == 2
    assert sorted(t.values for t in searcher._ot_study.get_trials()) == [[0.5, 3.0], [0.7, 2.0]]


# mlflow: what the sampler is told

def test_the_sampler_knows_the_earlier_trials_and_does_not_propose_them_again(earlier):
    tracker, *_ = earlier
    options = _options(overrides=SMALL, warm_start="mlflow")
    plan = plan_search(ALEXNET, options)
    plan.warm = warm_start(ALEXNET, plan, options, tracker, say=lambda line: None)
    searcher = _searcher(plan, options)
    assert searcher.warm_trials == 3
    told = searcher._ot_study.get_trials()
    assert [t.state for t in told] == [TrialState.COMPLETE] * 3 and sorted(t.value for t in told) == [0.5, 0.6, 0.7]
    assert not searcher._ot_trials  # none of them is a trial of this search (nor of its stored study)
    # three of the four configurations ran: the first proposal is the fourth
    assert searcher.suggest("t0") == {"step_size": 5, "gamma": 0.5}


def test_earlier_trials_under_conditions(tmp_path):
    """The artworks space: an earlier trial is told with its active keys only; its configuration is not run again."""
    options = _options(overrides={"model": ["resnet50"], "lr": [1e-3], "gamma": [0.7]})
    plan = plan_search(ARTWORKS, options)
    assert set(plan.swept) == {"weights", "freeze_depth"}
    plan.warm = WarmStart("x", evaluated=(({"weights": "none", "freeze_depth": 0}, 0.1),
                                          ({"weights": "imagenet", "freeze_depth": 5}, 0.9)))
    searcher = _searcher(plan, options, metric=ARTWORKS.metric)
    assert searcher.warm_trials == 2
    assert [t.params for t in searcher._ot_study.get_trials()] == [{"weights": "none"},
                                                                   {"weights": "imagenet", "freeze_depth": 5}]
    proposed = []
    for i in range(5):  # seven configurations in all (none, 0 and imagenet, 0..5), two of them told
        proposed.append(searcher.suggest(f"t{i}"))
        searcher.on_trial_complete(f"t{i}", {ARTWORKS.metric: 0.5, "training_iteration": 1})
    assert sorted((c["weights"], c["freeze_depth"]) for c in proposed) == [("imagenet", d) for d in (0, 1, 2, 3, 4)]


def test_a_restored_searcher_does_not_add_them_twice(tmp_path):
    """Ray Tune restores the searcher it pickled at the start (evaluated points and all) from its saved state: the
    study it had, and no second setup."""
    options = _options(overrides=SMALL)
    plan = plan_search(ALEXNET, options)
    plan.warm = WarmStart("x", evaluated=(({"step_size": 5, "gamma": 0.1}, 0.5),))
    searcher = _searcher(plan, options)
    searcher.suggest("t0")
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = plan.method.searcher(plan, options)
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert restored.set_search_properties("val_acc", "max", plan.param_space()) is False
    assert restored.warm_trials == 1 and len(restored._ot_study.get_trials()) == 2  # the told one, then t0


# whole searches

def _trial_runs(client: MlflowClient, parent: str):
    runs = client.search_runs([client.get_run(parent).info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'")
    return sorted(runs, key=lambda r: r.info.run_name)


def _parent(client: MlflowClient, name: str):
    [run] = client.search_runs([client.get_experiment_by_name("tiny-caltech").experiment_id],
                               f"attributes.run_name = '{name}'")
    return run


def _tiny_caltech(folder: Path) -> str:
    """alexnet-caltech's recipe, space and report figures on the tiny test CNN: a search-space file."""
    space = folder / "tiny_caltech.py"
    space.write_text("from dataclasses import replace\nfrom search_spaces import BENCHMARKS\n"
                     "alexnet = BENCHMARKS['alexnet-caltech']\n"
                     "BENCHMARK = replace(alexnet, name='tiny-caltech', model='tiny-cnn',\n"
                     "                    defaults={**alexnet.defaults, 'model': 'tiny-cnn'})\n")
    return str(space)


@pytest.mark.slow
def test_a_search_warm_started_from_the_report_runs_its_configurations_first(ray_local, in_tmp, tracking_uri,
                                                                             caltech_session_tree, capsys):
    code = main(["search", _tiny_caltech(in_tmp), *TINY, "--warm-start", "report", "--num-samples", "3",
                 "--max-concurrent", "1", "--data-dir", str(caltech_session_tree), "--tracking-uri", tracking_uri,
                 "--storage-path", str(in_tmp / "ray"), "--name", "from-report"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert "warm start: the report's 11 configurations run first (the first 3 of them: --num-samples)" in out
    client = MlflowClient(tracking_uri)
    parent = _parent(client, "from-report")
    assert parent.data.tags["warm_start"] == "report: 11 configurations"
    expected = report_points(ALEXNET, plan_search(ALEXNET, _options()))[:3]
    runs = _trial_runs(client, parent.info.run_id)
    assert [{k: parse_param(r.data.params[k]) for k in KEYS} for r in runs] == expected


@pytest.mark.slow
def test_a_second_search_continues_where_the_first_stopped(ray_local, in_tmp, tracking_uri, caltech_session_tree,
                                                           capsys):
    """Four configurations: the first search runs two; a second warm-started from MLflow knows them and runs the
    other two; a third started from the second search alone knows only its two."""
    small = [f"{key}={','.join(map(str, values))}" for key, values in SMALL.items()]
    space = _tiny_caltech(in_tmp)

    def search(name: str, samples: int, *extra: str) -> tuple[str, list[tuple]]:
        code = main(["search", space, *TINY, *small, "--num-samples", str(samples), *extra,
                     "--data-dir", str(caltech_session_tree), "--tracking-uri", tracking_uri,
                     "--storage-path", str(in_tmp / "ray"), "--name", name])
        out, err = capsys.readouterr()
        assert code == 0, err[-3000:]
        parent = _parent(MlflowClient(tracking_uri), name)
        configs = [(parse_param(r.data.params["step_size"]), parse_param(r.data.params["gamma"]))
                   for r in _trial_runs(MlflowClient(tracking_uri), parent.info.run_id)]
        return out, parent, configs

    _, first, first_configs = search("first", 2)
    assert len(set(first_configs)) == 2
    out, second, second_configs = search("second", 2, "--warm-start", "mlflow")
    assert (f"warm start: 2 trials of 1 earlier search of tiny-caltech ({first.info.run_id}) given to the "
            f"sampler") in out
    assert second.data.tags["warm_start"] == f"mlflow: 2 trials of runs {first.info.run_id}"
    assert len(second_configs) == 2 and not set(second_configs) & set(first_configs)  # none trained again
    out, third, third_configs = search("third", 1, "--warm-start", f"mlflow:{second.info.run_id}")
    assert third.data.tags["warm_start"] == f"mlflow: 2 trials of runs {second.info.run_id}"
    assert len(third_configs) == 1 and not set(third_configs) & set(second_configs)
    # the stored Optuna study holds the search's own trials only
    import optuna

    study = optuna.load_study(study_name="second", storage=third.data.tags["optuna_storage"])
    assert len(study.trials) == 2

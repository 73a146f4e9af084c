"""`search --search optuna --sampler tpe|gp|cmaes|qmc|random`: each Optuna sampler seeded with --seed, refused with
another search, recorded on the parent run; a real smoke search per sampler (real local Ray, real SQLite MLflow
store, real JPEGs)."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from search_spaces import BENCHMARKS
from tunebench import TunebenchError
from tunebench.cli import main
from tunebench.search import SearchOptions, plan_search
from tunebench.search.methods import OPTUNA_DB, SAMPLERS
from tunebench.tracking import Tag

ALEXNET = BENCHMARKS["alexnet-caltech"]
KEYS = ("lr", "step_size", "weight_decay", "gamma")
SAMPLER_CLASSES = {"tpe": optuna.samplers.TPESampler, "gp": optuna.samplers.GPSampler,
                   "cmaes": optuna.samplers.CmaEsSampler, "qmc": optuna.samplers.QMCSampler,
                   "random": optuna.samplers.RandomSampler}


def _proposals(sampler: str, seed: int, trials: int = 12) -> list[tuple]:
    """The configurations a searcher proposes when driven as Tune drives it, each told a value that depends on the
    configuration only: past the samplers' random start (10 trials for TPE and GP), so the model's proposals too."""
    options = SearchOptions(data_dir=Path("."), sampler=sampler, seed=seed)
    plan = plan_search(ALEXNET, options)
    searcher = plan.method.searcher(plan, options)
    searcher.set_search_properties(ALEXNET.metric, ALEXNET.mode, plan.param_space())
    proposed = []
    for i in range(trials):
        config = searcher.suggest(f"t{i}")
        proposed.append(tuple(config[k] for k in KEYS))
        value = -abs(config["lr"] - 0.01) * 10 - abs(config["gamma"] - 0.3) - config["step_size"] / 100
        searcher.on_trial_result(f"t{i}", {"val_acc": value, "training_iteration": 1})
        searcher.on_trial_complete(f"t{i}", {"val_acc": value, "training_iteration": 1})
    assert isinstance(searcher._ot_study.sampler, SAMPLER_CLASSES[sampler])
    return proposed


@pytest.mark.parametrize("sampler", sorted(SAMPLER_CLASSES))
def test_a_sampler_proposes_the_same_configurations_for_the_same_seed(sampler):
    first = _proposals(sampler, seed=7)
    assert _proposals(sampler, seed=7) == first
    assert _proposals(sampler, seed=8) != first
    assert len(set(first)) == len(first)  # a continuous space: no repeats


def test_every_sampler_is_in_the_table_and_the_cli():
    from tunebench.cli import build_parser

    assert set(SAMPLERS) == set(SAMPLER_CLASSES)
    search = build_parser()._subparsers._group_actions[0].choices["search"]
    [action] = [a for a in search._actions if "--sampler" in a.option_strings]
    assert list(action.choices) == list(SAMPLERS) and action.default == "tpe"


def test_cmaes_says_once_that_categorical_keys_are_drawn_at_random(capsys, caplog, monkeypatch):
    """step_size is a choice in alexnet-caltech's space: CMA-ES cannot model it. One line as the search starts, not
    Optuna's warning for every trial (not even with --verbose, which shows Optuna's warnings)."""
    from tunebench import console

    monkeypatch.setenv(console.VERBOSITY_ENV, "verbose")
    optuna.logging.enable_propagation()  # Optuna's records reach caplog
    try:
        options = SearchOptions(data_dir=Path("."), sampler="cmaes")
        plan = plan_search(ALEXNET, options)
        searcher = plan.method.searcher(plan, options)
        searcher.set_search_properties(ALEXNET.metric, ALEXNET.mode, plan.param_space())
        with caplog.at_level(logging.WARNING, logger="optuna"):
            for i in range(4):
                searcher.suggest(f"t{i}")
                searcher.on_trial_complete(f"t{i}", {"val_acc": 0.1 * i, "training_iteration": 1})
    finally:
        optuna.logging.disable_propagation()
    assert logging.getLogger("optuna").getEffectiveLevel() == logging.WARNING  # --verbose: Optuna's warnings show
    assert capsys.readouterr().out.count(
        "note: CMA-ES models continuous and integer keys only: step_size drawn independently at random") == 1
    assert not [r for r in caplog.records if "independently" in r.getMessage()]

    # a space without a categorical key: nothing to say
    options = SearchOptions(data_dir=Path("."), sampler="cmaes", overrides={"step_size": [10]})
    plan = plan_search(ALEXNET, options)
    plan.method.searcher(plan, options)
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize("search", ["random", "grid", "coordinate"])
def test_a_sampler_other_than_tpe_needs_search_optuna(tmp_path, capsys, search):
    code = main(["search", "alexnet-caltech", "--search", search, "--sampler", "gp", "--data-dir", str(tmp_path),
                 "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}", "--storage-path", str(tmp_path / "ray")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines() == [
        f"tunebench: error: --sampler gp is a sampler of --search optuna, not of --search {search}"]
    assert not (tmp_path / "mlruns.db").exists() and not (tmp_path / "ray").exists()  # refused before anything


def test_an_unknown_sampler_in_a_search_file_is_a_one_line_error():
    with pytest.raises(TunebenchError, match="unknown sampler 'bogus' \\(one of tpe, gp, cmaes, qmc, random\\)"):
        plan_search(ALEXNET, SearchOptions(data_dir=Path("."), sampler="bogus"))


def test_the_search_line_names_the_sampler():
    assert plan_search(ALEXNET, SearchOptions(data_dir=Path("."), sampler="qmc")).label == "optuna (qmc)"
    assert plan_search(ALEXNET, SearchOptions(data_dir=Path("."), search="random")).label == "random"


@pytest.mark.slow
@pytest.mark.parametrize("sampler", sorted(SAMPLER_CLASSES))
def test_a_smoke_search_with_each_sampler(ray_local, tmp_path, caltech_session_tree, capsys, sampler):
    tracking_uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    code = main(["search", "alexnet-caltech", "--smoke", "--sampler", sampler, "--seed", "3", "--num-samples", "3",
                 "--max-epochs", "1", "--max-concurrent", "2", "--data-dir", str(caltech_session_tree),
                 "--tracking-uri", tracking_uri, "--storage-path", str(tmp_path / "ray"), "--name", sampler])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert f"search {sampler}: optuna ({sampler}) + asha, 3 samples x 1 epochs" in out
    assert ("note: CMA-ES models continuous and integer keys only: step_size" in out) == (sampler == "cmaes")
    assert "sampled independently" not in out + err and "ExperimentalWarning" not in err

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
    [parent] = [r for r in runs if Tag.PARENT not in r.data.tags]
    children = [r for r in runs if Tag.PARENT in r.data.tags]
    assert parent.info.status == "FINISHED" and parent.data.tags[Tag.SAMPLER] == sampler
    assert parent.data.tags[Tag.NOTE].startswith(f"optuna ({sampler}) search over lr, step_size, weight_decay, gamma")
    assert Tag.OBJECTIVES not in parent.data.tags
    assert len(children) == 3 and all(c.info.status == "FINISHED" for c in children)
    # the stored study: a trial per Ray trial, each told its val_acc
    study = optuna.load_study(study_name=sampler, storage=f"sqlite:///{tmp_path / OPTUNA_DB}")
    assert len(study.trials) == 3
    by_trial = {c.data.tags[Tag.TRIAL]: c for c in children}
    for trial in study.trials:
        assert trial.value == pytest.approx(by_trial[trial.user_attrs["ray_trial_id"]].data.metrics["val_acc"])

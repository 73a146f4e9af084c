"""`tunebench search --scheduler asha|hyperband|bohb|median|pbt|fifo`: a smoke search with each (a real local Ray,
a real SQLite MLflow store, real JPEGs); PBT's exploits recorded on the trial runs; a trial that takes another's
checkpoint continues from its weights with its own optimiser settings; the combinations that cannot run refused
before anything starts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient
from ray import tune

from search_spaces import BENCHMARKS
from tunebench.cli import main
from tunebench.data import build_dataset
from tunebench.reports import parse_param
from tunebench.trainable import TrialTrainable

SCHEDULER_RUNS = {  # scheduler -> (search, trials, epochs): small, each exercising what its scheduler does
    "asha": ("optuna", 3, 2),
    # max_t 3: a bracket of 2 trials x 3 epochs, then one of 3 halved after 1 epoch (all trials added at once: with
    # --max-concurrent a trial added as another ends takes that one's place in the first bracket)
    "hyperband": ("random", 4, 3),
    "bohb": ("optuna", 4, 3),       # the largest bracket first: trials paused at their rung (on_pause, on_unpause)
    "median": ("optuna", 3, 3),
    "pbt": ("random", 4, 4),        # all 4 alive together: synchronous PBT, a perturbation every epoch
    "fifo": ("optuna", 3, 2),
}


def _search(tmp_path, data, uri, name, *extra) -> list[str]:
    return ["search", "alexnet-caltech", "--smoke", "--data-dir", str(data), "--tracking-uri", uri,
            "--storage-path", str(tmp_path / "ray"), "--name", name, *extra]


def _runs(uri: str):
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("alexnet-caltech")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    return client, parents, [r for r in runs if "mlflow.parentRunId" in r.data.tags]


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", list(SCHEDULER_RUNS))
def test_a_smoke_search_runs_with_each_scheduler(ray_local, tmp_path, tracking_uri, caltech_session_tree, scheduler,
                                                 capsys):
    search, trials, epochs = SCHEDULER_RUNS[scheduler]
    concurrent = [] if scheduler in ("pbt", "hyperband") else ["--max-concurrent", "2"]  # 2 CPUs: 2 at a time
    code = main(_search(tmp_path, caltech_session_tree, tracking_uri, scheduler, "--scheduler", scheduler,
                        "--search", search, "--num-samples", str(trials), "--max-epochs", str(epochs), *concurrent))
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert f"search {scheduler}: {search}" in out and f"+ {scheduler}, {trials} samples" in out
    client, [parent], children = _runs(tracking_uri)
    assert parent.info.status == "FINISHED" and parent.data.tags["scheduler"] == scheduler
    assert len(children) == trials == parent.data.metrics["trials"]
    for child in children:
        assert child.info.status == "FINISHED", (child.info.run_name, child.data.tags)
        history = client.get_metric_history(child.info.run_id, "val_acc")
        assert history and max(m.step for m in history) == int(child.data.tags["epochs_run"]) <= epochs
    if scheduler in ("hyperband", "bohb"):  # its second bracket halves after 1 epoch: a paused trial stops there
        assert any(c.data.tags["outcome"] == "stopped by scheduler" for c in children)
    if scheduler == "pbt":
        _check_pbt_lineage(client, children, epochs, out)
    else:
        assert not any("pbt_lineage" in c.data.tags or "hp_lr" in c.data.metrics for c in children)


def _check_pbt_lineage(client: MlflowClient, children: list, epochs: int, out: str) -> None:
    """4 trials alive together, a perturbation every epoch, the bottom quarter exploiting: some trial certainly
    cloned another. Its run names the run it cloned and at which epoch; its params keep its first values, its
    hp_lr metric and the lr its optimiser trained with (the lr metric, read from the optimiser) are the new value
    from the epoch after the cloned one; its epochs continue from the cloned trial's (its training state)."""
    names = {c.info.run_name: c for c in children}
    exploited = [c for c in children if c.data.tags.get("pbt_lineage")]
    assert exploited, out
    for child in exploited:
        lines = child.data.tags["pbt_lineage"].split("; ")
        [artifact] = [a.path for a in client.list_artifacts(child.info.run_id) if a.path == "pbt_lineage.json"]
        record = json.loads(open(client.download_artifacts(child.info.run_id, artifact)).read())
        assert record["run"] == child.info.run_name and len(record["exploits"]) == len(lines)
        for line, entry in zip(lines, record["exploits"]):
            assert entry["cloned_run"] in names and entry["cloned_run"] != child.info.run_name
            assert line.startswith(f"epoch {entry['epoch']}: cloned {entry['cloned_run']}")
            # the perturbed keys, and the donor's step_size where it differs
            assert 1 <= entry["cloned_epoch"] < epochs
            assert {"lr", "weight_decay", "gamma"} <= set(entry["new"]) <= {"lr", "weight_decay", "gamma", "step_size"}
            donor = names[entry["cloned_run"]]
            assert entry["donor"]["lr"] == pytest.approx(parse_param(donor.data.params["lr"])) or \
                "pbt_lineage" in donor.data.tags  # the donor's own value then, unless it had cloned another
        first = record["exploits"][0]
        new_lr, started_with = first["new"]["lr"], parse_param(child.data.params["lr"])
        assert new_lr != pytest.approx(started_with) and first["old"]["lr"] == pytest.approx(started_with)
        after = first["cloned_epoch"] + 1
        hp = client.get_metric_history(child.info.run_id, "hp_lr")
        assert [m.value for m in hp if m.step == 1][0] == pytest.approx(started_with)
        # the first value logged at the epoch after the cloned one, after the exploit (a repeated epoch is logged
        # again: the last value of that step is the one trained with the new settings)
        trained = {"hp_lr": hp, "lr": client.get_metric_history(child.info.run_id, "lr")}
        for key, history in trained.items():
            values = [m.value for m in sorted(history, key=lambda m: m.timestamp) if m.step == after]
            assert values and values[-1] == pytest.approx(new_lr), (key, history, first)  # no lr decay in 4 epochs
    assert "(pbt) epoch " in out and ": cloned " in out


def test_a_trial_continued_from_another_trials_checkpoint_keeps_its_weights_with_its_own_settings(
        ray_local, caltech_tree):
    """What PBT does to a trial: its actor is given the new config (reset_config), then the donor's checkpoint. The
    weights, the epoch and the momentum buffers are the donor's; lr (where the schedule puts it at this epoch),
    momentum, weight decay and gamma are the trial's own. A resumed trial (the same config) restores exactly."""
    splits = build_dataset("caltech101", caltech_tree)
    config = {**BENCHMARKS["alexnet-caltech"].defaults, "model": "tiny-cnn", "epochs": 4, "seed": 0,
              "image_size": 32, "batch_size": 8, "lr": 0.05, "step_size": 1, "gamma": 0.5, "momentum": 0.9,
              "weight_decay": 5e-5}
    trainable_cls = tune.with_parameters(TrialTrainable, splits=splits)
    donor = trainable_cls(config)
    assert [donor.train()["lr"] for _ in range(2)] == [0.05, 0.025]
    saved = donor.save()
    own = {"lr": 0.2, "gamma": 0.8, "momentum": 0.5, "weight_decay": 1e-3}
    trial = trainable_cls({**config, "lr": 0.01})
    trial.train()
    assert trial.reset({**config, **own})
    trial.restore(saved)
    state, donor_state = trial.states[0], donor.states[0]
    for name, tensor in donor_state.model.state_dict().items():
        torch.testing.assert_close(state.model.state_dict()[name], tensor, msg=name)
    buffers = donor_state.optimizer.state_dict()["state"]
    assert buffers and all(torch.equal(buffers[k]["momentum_buffer"], state.optimizer.state_dict()["state"][k][
        "momentum_buffer"]) for k in buffers)
    [group] = state.optimizer.param_groups
    assert group["initial_lr"] == 0.2 and state.scheduler.base_lrs == [0.2] and state.scheduler.gamma == 0.8
    assert group["lr"] == pytest.approx(0.2 * 0.8 ** 2) and group["momentum"] == 0.5
    assert group["weight_decay"] == 1e-3
    result = trial.train()
    assert result["epoch"] == 3 and result["lr"] == pytest.approx(0.2 * 0.8 ** 2)
    assert state.optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * 0.8 ** 3)  # the schedule goes on with 0.8

    resumed = trainable_cls(config)  # the donor's own config: its state as saved, to the bit
    resumed.restore(saved)
    [group] = resumed.states[0].optimizer.param_groups
    assert group["lr"] == donor_state.optimizer.param_groups[0]["lr"] == 0.0125 and group["initial_lr"] == 0.05
    assert resumed.states[0].scheduler.state_dict() == donor_state.scheduler.state_dict()
    for trainable in (donor, trial, resumed):
        trainable.stop()


def test_apply_sets_the_weight_decay_of_the_group_that_decays_only():
    """A model that names its decayed parameters (Keras' kernel_regularizer) has a second group without decay:
    another trial's weight decay goes on the first group only."""
    from tunebench.models import build_model
    from tunebench.settings import FitSettings, OptimSettings
    from tunebench.train import TrainingState

    model = build_model("cifar-cnn", 10)
    donor = TrainingState.create(model, OptimSettings(lr=0.1, weight_decay=1e-3, lr_schedule="exponential",
                                                      gamma=0.9), FitSettings())
    for _ in range(3):  # three epochs (no gradients: the weights stay, the schedule moves)
        donor.optimizer.step()
        donor.scheduler.step()
    state = TrainingState.create(build_model("cifar-cnn", 10), OptimSettings(lr=0.1, weight_decay=1e-3,
                                 lr_schedule="exponential", gamma=0.9), FitSettings())
    state.load_state_dict(donor.state_dict())
    state.apply(OptimSettings(lr=0.3, weight_decay=2e-3, lr_schedule="exponential", gamma=0.5, momentum=0.8))
    decayed, plain = state.optimizer.param_groups
    assert (decayed["weight_decay"], plain["weight_decay"]) == (2e-3, 0.0)
    assert decayed["lr"] == plain["lr"] == pytest.approx(0.3 * 0.5 ** 3) and state.scheduler.gamma == 0.5
    assert decayed["momentum"] == plain["momentum"] == 0.8


@pytest.mark.parametrize("args, message", [
    (["--scheduler", "bohb", "--search", "random"],
     "--scheduler bohb pairs Hyperband with the model-based proposals of --search optuna (TPE), not with --search "
     "random: use --scheduler hyperband"),
    (["--scheduler", "bohb", "--search", "grid"], "not with --search grid"),
    (["--scheduler", "pbt"], "--scheduler pbt evolves a population of random draws (Ray Tune's PBT takes no "
                             "searcher): use --search random, not --search optuna"),
    (["--scheduler", "pbt", "--search", "grid"], "use --search random, not --search grid"),
    (["--scheduler", "pbt", "--search", "random", "--set", "lr=0.01", "weight_decay=5e-5", "gamma=0.1"],
     "--scheduler pbt mutates continuous hyperparameters; alexnet-caltech's search sweeps none: step_size "
     "(categorical)"),
])
def test_a_scheduler_that_cannot_run_the_search_is_a_one_line_error(tmp_path, capsys, args, message):
    code = main(["search", "alexnet-caltech", "--smoke", "--data-dir", str(tmp_path / "none"),
                 "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}", "--storage-path", str(tmp_path / "ray"),
                 *args])
    out, err = capsys.readouterr()
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "ray").exists() and not (tmp_path / "mlruns.db").exists()  # nothing started


def test_the_search_help_offers_each_scheduler(capsys):
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    out = capsys.readouterr().out
    for name in ("asha", "hyperband", "bohb", "median", "pbt", "fifo"):
        assert f"{name}:" in out


def test_pbt_lineage_on_a_trial_run_survives_a_resume(tracking_uri):
    """The MLflow side of an exploit without Ray's loop: hp_<key> per epoch from the config each epoch trained with,
    the lineage tag and artifact; a resumed search's callback (a new TrialRuns) starts the trial again with its
    mutated config (params keep the first values: MLflow refuses to change one) and appends to its lineage."""
    from ray.tune.experiment import Trial

    from tunebench.search.callbacks import TrialRuns
    from tunebench.tracking import Tracker

    tracker = Tracker(tracking_uri)
    experiment_id = tracker.experiment_id("alexnet-caltech")
    parent = tracker.start_run(experiment_id, "smoke", {}, {"benchmark": "alexnet-caltech"})
    trials = [Trial("TrialTrainable", config={"lr": lr, "step_size": 5, "epochs": 4}, trial_id=f"t{i}", stub=True)
              for i, lr in enumerate((0.1, 0.01))]
    runs = TrialRuns(tracker, experiment_id, parent, swept=("lr", "step_size"), mutated=("lr", "step_size"))
    for trial in trials:
        runs.on_trial_start(0, trials, trial)
    for epoch in (1, 2):
        for trial in trials:
            runs.on_trial_result(0, trials, trial, {"epoch": epoch, "training_iteration": epoch, "val_acc": 0.5,
                                                   "config": dict(trial.config)})
    exploit = {"epoch": 2, "cloned_trial": "t0", "cloned_epoch": 1, "old": {"lr": 0.01}, "donor": {"lr": 0.1},
               "new": {"lr": 0.12}, "operations": {"lr": "* 1.2"}}
    assert runs.record_exploit("t1", exploit) == "epoch 2: cloned smoke-001 at its epoch 1 (lr 0.01 -> 0.12)"
    trials[1].config["lr"] = 0.12
    runs.on_trial_start(0, trials, trials[1])  # paused, started again: nothing written
    runs.on_trial_result(0, trials, trials[1], {"epoch": 2, "training_iteration": 2, "val_acc": 0.6,
                                                "config": dict(trials[1].config)})  # epoch 2 again, after epoch 1

    resumed = TrialRuns(tracker, experiment_id, parent, swept=("lr", "step_size"), mutated=("lr", "step_size"))
    resumed.on_trial_start(0, trials, trials[1])  # a mutated config: no MLflow error
    assert resumed.record_exploit("t1", {**exploit, "epoch": 3, "cloned_epoch": 3, "old": {"lr": 0.12},
                                         "new": {"lr": 0.1}}) == "epoch 3: cloned smoke-001 (lr 0.12 -> 0.1)"

    client = MlflowClient(tracking_uri)
    run = client.get_run(runs.runs["t1"])
    assert run.data.params["lr"] == "0.01" and run.data.tags["pbt_lineage"] == (
        "epoch 2: cloned smoke-001 at its epoch 1 (lr 0.01 -> 0.12); epoch 3: cloned smoke-001 (lr 0.12 -> 0.1)")
    record = json.loads(open(client.download_artifacts(run.info.run_id, "pbt_lineage.json")).read())
    assert [(e["epoch"], e["cloned_run"], e["new"]["lr"]) for e in record["exploits"]] == \
        [(2, "smoke-001", 0.12), (3, "smoke-001", 0.1)]
    history = sorted(client.get_metric_history(run.info.run_id, "hp_lr"), key=lambda m: m.timestamp)
    assert [(m.step, m.value) for m in history] == [(1, 0.01), (2, 0.01), (2, 0.12)]
    assert [m.value for m in client.get_metric_history(run.info.run_id, "hp_step_size")] == [5, 5, 5]


class _Timed(tune.Trainable):
    """A trial whose epochs and saves take set times (config step_s, save_s; stop_at: it reports done there;
    fail_at: it raises there), its score its rank plus its epoch: PBT's timing and quantiles known in advance."""

    def setup(self, config):
        self.epoch = 0

    def step(self):
        time.sleep(self.config["step_s"])
        self.epoch += 1
        if self.epoch >= self.config["fail_at"]:
            raise RuntimeError(f"rank {self.config['rank']} fails at epoch {self.epoch}")
        return {"score": self.config["rank"] + self.epoch, "done": self.epoch >= self.config["stop_at"]}

    def save_checkpoint(self, checkpoint_dir):
        time.sleep(self.config["save_s"])
        Path(checkpoint_dir, "epoch").write_text(str(self.epoch))

    def load_checkpoint(self, checkpoint_dir):
        self.epoch = int(Path(checkpoint_dir, "epoch").read_text())


def _timing(step_s: float, save_s: float = 0.1, stop_at: int = 99, fail_at: int = 99) -> dict:
    return dict(step_s=step_s, save_s=save_s, stop_at=stop_at, fail_at=fail_at)


def _pbt_run(tmp_path, timings: dict[int, dict], epochs: int):
    """Synchronous LineagePBT over four _Timed trials (rank 3 best) on 2 CPUs, tunebench's checkpoint settings
    (every epoch, the best and the latest kept); a search that would hang ends after 400 s."""
    from tunebench.search.schedulers import LineagePBT

    scheduler = LineagePBT(time_attr="training_iteration", perturbation_interval=1, quantile_fraction=0.25,
                           hyperparam_mutations={"lr": tune.uniform(0.1, 0.9)}, synch=True)
    tuner = tune.Tuner(
        _Timed, param_space={"lr": 0.5, "rank": tune.grid_search([0, 1, 2, 3]),
                             **{k: tune.sample_from(lambda spec, k=k: timings[spec.config.rank][k])
                                for k in ("step_s", "save_s", "stop_at", "fail_at")}},
        tune_config=tune.TuneConfig(metric="score", mode="max", scheduler=scheduler, time_budget_s=400),
        run_config=tune.RunConfig(storage_path=str(tmp_path), stop={"training_iteration": epochs}, verbose=0,
                                  checkpoint_config=tune.CheckpointConfig(
                                      checkpoint_frequency=1, num_to_keep=1, checkpoint_score_attribute="score",
                                      checkpoint_score_order="max")))
    return tuner.fit()


def test_synchronous_pbt_clones_a_top_trial_still_saving_its_pause_without_losing_its_checkpoint(ray_local,
                                                                                                  tmp_path):
    """The top trial (rank 3) pauses at the sync point and takes 2.5 s to save; the last one (rank 2) reaches the
    point about 0.6 s later and PBT perturbs the population while that save runs. The top trial is cloned from
    that save, once: every trial goes on to the last epoch (Ray's PBT had it save a second time, and the trial
    later failed to restore a checkpoint Tune had deleted)."""
    timings = {0: _timing(0.1), 1: _timing(0.1), 2: _timing(1.2), 3: _timing(0.6, save_s=2.5)}
    results = _pbt_run(tmp_path, timings, epochs=3)
    assert not results.errors, results.errors
    assert sorted(r.metrics["training_iteration"] for r in results) == [3, 3, 3, 3]


@pytest.mark.parametrize("ends", ["stops", "fails"])
def test_synchronous_pbt_goes_on_when_the_trial_the_others_wait_for_stops_early_or_fails(ray_local, tmp_path, ends):
    """The slowest trial stops (patience, a time budget) or fails for good at its first epoch while the others wait
    paused at the sync point: no result comes from it there, and the others go on (Ray's PBT waited for it for
    ever)."""
    slowest = _timing(1.5, **{"stop_at" if ends == "stops" else "fail_at": 1})
    timings = {0: _timing(0.1), 1: _timing(0.1), 2: _timing(0.1), 3: slowest}
    results = _pbt_run(tmp_path, timings, epochs=2)
    finished = sorted(r.metrics["training_iteration"] for r in results if r.error is None)
    if ends == "stops":
        assert not results.errors and finished == [1, 2, 2, 2], results.errors
    else:
        assert [r.config["rank"] for r in results if r.error is not None] == [3] and finished == [2, 2, 2]

"""The Ray Tune schedulers of `tunebench search --scheduler` (methods.SCHEDULERS names them for the CLI): when
trials stop early, or (pbt) how a population of trials changes as it trains. Time is counted in epochs (Tune's
training_iteration: a trial's step is one epoch).

    asha       ASHAScheduler: rungs at grace period x 3^k epochs (SearchOptions.grace_period: 1), a third of the
               trials at a rung go on
    hyperband  HyperBandScheduler: brackets of successive halving (reduction factor 3) up to --max-epochs; a trial
               waits, paused, at a rung until the others of its bracket reach it
    bohb       HyperBandForBOHB with --search optuna: TPE proposes the trials (the model-based half of BOHB, in
               place of TuneBOHB's hpbandster and ConfigSpace), Hyperband's brackets stop them
    median     MedianStoppingRule: after the grace period, a trial whose best is worse than the median of the
               other trials' running means at the same epoch stops
    pbt        LineagePBT (Ray's PopulationBasedTraining): every `pbt_interval` epochs (a quarter of --max-epochs)
               the bottom quarter of the trials continues from a top trial's checkpoint with its continuous
               hyperparameters perturbed (x0.8 or x1.2, or drawn again one time in four, within the space's
               bounds); each such exploit is recorded on the trial's MLflow run (TrialRuns.record_exploit)
    fifo       every trial runs all its epochs
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.air.constants import TRAINING_ITERATION
from ray.train._internal.session import _FutureTrainingResult, _TrainingResult
from ray.tune import Checkpoint
from ray.tune.experiment import Trial
from ray.tune.schedulers import (ASHAScheduler, FIFOScheduler, HyperBandForBOHB, HyperBandScheduler,
                                 MedianStoppingRule, PopulationBasedTraining)
from ray.tune.search.sample import Float

from tunebench import TunebenchError, console
from tunebench.search.methods import asha_rungs

if TYPE_CHECKING:
    from tunebench.search.callbacks import TrialRuns
    from tunebench.search.options import SearchOptions
    from tunebench.search.plan import SearchPlan

TIME_ATTR = TRAINING_ITERATION  # epochs
REDUCTION_FACTOR = 3            # hyperband, bohb: a third of a bracket's trials go on at each rung (as ASHA's)
MEDIAN_SAMPLES = 3              # median: Ray's default number of other trials to take a median of (fewer when small)
PBT_PERTURBATIONS = 4           # pbt: a trial's values may change about this many times over --max-epochs
PBT_QUANTILE = 0.25             # pbt: the bottom quarter exploits the top quarter
HELD_PREFIX = "checkpoint_pbt_"  # pbt: a donor's checkpoint held in the exploiting trial's folder (hard links)


def asha(plan: SearchPlan, options: SearchOptions) -> ASHAScheduler:
    grace, factor = asha_rungs(plan, options)
    return ASHAScheduler(time_attr=TIME_ATTR, max_t=plan.max_epochs, grace_period=grace, reduction_factor=factor)


def fifo(plan: SearchPlan, options: SearchOptions) -> FIFOScheduler:
    return FIFOScheduler()


def hyperband(plan: SearchPlan, options: SearchOptions) -> HyperBandScheduler:
    return HyperBandScheduler(time_attr=TIME_ATTR, max_t=plan.max_epochs, reduction_factor=REDUCTION_FACTOR)


def hyperband_for_bohb(plan: SearchPlan, options: SearchOptions) -> HyperBandForBOHB:
    """Hyperband's brackets filled largest first and trials paused at a rung even while the bracket fills (Ray's BOHB
    scheduler); it tells the searcher (DistinctOptunaSearch.on_pause / on_unpause)."""
    return HyperBandForBOHB(time_attr=TIME_ATTR, max_t=plan.max_epochs, reduction_factor=REDUCTION_FACTOR)


def check_bohb(plan: SearchPlan, benchmark: str) -> None:
    if plan.search != "optuna":
        raise TunebenchError(f"--scheduler bohb pairs Hyperband with the model-based proposals of --search optuna "
                             f"(TPE), not with --search {plan.search}: use --scheduler hyperband")


def median_samples(num_samples: int) -> int:
    """Other trials a median needs: Ray's 3, fewer in a small search (half of its trials, at least one)."""
    return max(1, min(MEDIAN_SAMPLES, num_samples // 2))


def median(plan: SearchPlan, options: SearchOptions) -> MedianStoppingRule:
    return MedianStoppingRule(time_attr=TIME_ATTR, grace_period=min(options.grace_period, plan.max_epochs),
                              min_samples_required=median_samples(plan.num_samples))


def pbt_interval(max_epochs: int) -> int:
    """Epochs between two of a trial's perturbations: a quarter of the epochs, at least one."""
    return max(1, max_epochs // PBT_PERTURBATIONS)


def pbt_mutations(plan: SearchPlan) -> dict[str, Float]:
    """The continuous hyperparameters a pbt search changes: the Float domains among its swept keys."""
    return {key: domain for key, domain in plan.swept.items() if isinstance(domain, Float)}


def check_pbt(plan: SearchPlan, benchmark: str) -> None:
    if plan.search != "random":
        raise TunebenchError(f"--scheduler pbt evolves a population of random draws (Ray Tune's PBT takes no "
                             f"searcher): use --search random, not --search {plan.search}")
    if not pbt_mutations(plan):
        swept = ", ".join(f"{key} ({type(domain).__name__.lower()})" for key, domain in plan.swept.items())
        raise TunebenchError(f"--scheduler pbt mutates continuous hyperparameters; {benchmark}'s search sweeps none: "
                             f"{swept or 'nothing is swept'}")


def pbt(plan: SearchPlan, options: SearchOptions) -> LineagePBT:
    """Synchronous PBT (every trial perturbed at the same epochs, the bottom quarter always exploiting) when the
    whole population is alive together; with --max-concurrent below --num-samples only that many trials exist at a
    time (Tune's generator holds the others back), so each trial is perturbed on its own (asynchronous PBT)."""
    mutations = pbt_mutations(plan)
    together = not options.max_concurrent or options.max_concurrent >= plan.num_samples
    return LineagePBT(time_attr=TIME_ATTR, perturbation_interval=pbt_interval(plan.max_epochs),
                      hyperparam_mutations=mutations, quantile_fraction=PBT_QUANTILE,
                      custom_explore_fn=WithinBounds({k: (d.lower, d.upper) for k, d in mutations.items()}),
                      synch=together)


class WithinBounds:
    """PBT's explore step kept inside the space (x1.2 of a momentum of 0.9 would leave it)."""

    def __init__(self, bounds: dict[str, tuple[float, float]]) -> None:
        self.bounds = bounds

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        for key, (lower, upper) in self.bounds.items():
            if isinstance(config.get(key), (int, float)):
                config[key] = min(max(config[key], lower), upper)
        return config


def _epoch(result: dict | None) -> int:
    result = result or {}
    return int(result.get("epoch", result.get(TRAINING_ITERATION, 0)))


class LineagePBT(PopulationBasedTraining):
    """Ray's PBT with two additions at each exploit (`_exploit`: a trial continues from another's checkpoint with
    the other's values, perturbed):

    - the donor's checkpoint is held for the exploiting trial as hard links in its own folder (`checkpoint_pbt_*`,
      removed with its other checkpoints when it ends): Tune keeps a trial's latest and best checkpoints only, so
      the donor's next epoch would delete the one PBT noted before the exploiting trial restores from it. When it
      is gone already (the donor's own checkpoint of the same epoch replaced it), the donor's latest is held.
    - the exploit is recorded on the exploiting trial's MLflow run (`runs`, the search's TrialRuns, which
      tuner.build_tuner sets; Tune pickles both in one file, so a restored search keeps the link) and said on
      the console.
    """

    runs: TrialRuns | None = None

    def on_trial_add(self, tune_controller, trial) -> None:
        with warnings.catch_warnings():  # its checkpoints are held (hold): Tune's num_to_keep=1 does not lose them
            warnings.filterwarnings("ignore", message=r".*num_to_keep <= 2.* with PBT")
            super().on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        """Synchronous PBT's next perturbation kept ahead of every trial. Ray sets it to the larger of (the last one
        + the interval) and the trials' latest time; a resumed search (a fresh scheduler, its trials restored past
        its first perturbation time) lands on the trials' time, where Ray runs no paused trial again: a hang."""
        decision = super().on_trial_result(tune_controller, trial, result)
        self._keep_sync_ahead(tune_controller)
        return decision

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        """A trial that ends before the others reach the sync point (stopped early: patience, --time-budget) sends
        no result there: when the others are all waiting for it, they go on without this perturbation."""
        super().on_trial_complete(tune_controller, trial, result)
        self._keep_sync_ahead(tune_controller, trial)

    def on_trial_error(self, tune_controller, trial) -> None:
        """As on_trial_complete, for a trial that failed for good (its retries spent)."""
        super().on_trial_error(tune_controller, trial)
        self._keep_sync_ahead(tune_controller, trial)

    def _keep_sync_ahead(self, tune_controller, ended=None) -> None:
        """Synchronous PBT runs a paused trial again only while it is behind the next sync point: once every live
        trial has reached it with none left to report there, the point moves one interval past them."""
        if not self._synch:
            return
        times = [self._trial_state[t].last_train_time for t in tune_controller.get_live_trials()
                 if t in self._trial_state and t is not ended]
        if times and min(times) >= self._next_perturbation_sync:
            self._next_perturbation_sync = max(times) + self._perturbation_interval

    def _checkpoint_or_exploit(self, trial, tune_controller, upper_quantile, lower_quantile) -> None:
        """A top trial whose pause is still saving (Tune marks it paused once its checkpoint is written) is cloned
        from that checkpoint, as Ray's PBT does for a paused one. Ray would have it save again: Tune drops that
        second save when the pause stops the actor, its checkpoint index falls behind, and the trial's next
        checkpoint is written over the folder the clone was taken from, which Tune then deletes as an older
        checkpoint of the trial (seen on a loaded machine: 'Could not recover from checkpoint as it does not exist
        on storage anymore')."""
        saving = trial.temporary_state.saving_to
        if trial in upper_quantile and trial.status != Trial.PAUSED and isinstance(saving, _FutureTrainingResult):
            self._trial_state[trial].last_checkpoint = saving
            self._num_checkpoints += 1
            return
        super()._checkpoint_or_exploit(trial, tune_controller, upper_quantile, lower_quantile)

    def _get_new_config(self, trial, trial_to_clone) -> tuple[dict, dict]:
        new_config, operations = super()._get_new_config(trial, trial_to_clone)
        self._operations = operations  # how each value was changed ("* 1.2", "resample"), for the record
        return new_config, operations

    def _exploit(self, tune_controller, trial, trial_to_clone) -> None:
        at_epoch = _epoch(self._trial_state[trial].last_result)  # Tune updates trial.last_result after this
        before = dict(trial.config)
        self._operations = {}
        super()._exploit(tune_controller, trial, trial_to_clone)
        manager = trial.run_metadata.checkpoint_manager
        chosen = manager._latest_checkpoint_result  # what Ray's PBT set: the donor's checkpoint it noted
        latest = trial_to_clone.run_metadata.checkpoint_manager.latest_checkpoint_result
        if not _on_disk(chosen) and _on_disk(latest):
            chosen = latest
        held = f"{trial_to_clone.trial_id}_{_epoch(chosen.metrics):06d}"
        try:
            manager._latest_checkpoint_result = hold(chosen, trial, held)
        except OSError as exc:  # a full disk: Tune restores from the donor's own folder, as Ray's PBT does
            warnings.warn(f"trial {trial.trial_id}: the checkpoint it clones was not held in its folder ({exc})")
            manager._latest_checkpoint_result = chosen
        # the perturbed keys, and any other the donor's config gave it (a swept choice: the donor's step_size)
        keys = [*self._hyperparam_mutations,
                *(k for k in trial.config if k not in self._hyperparam_mutations and trial.config[k] != before.get(k))]
        self._record(trial.trial_id, {
            "epoch": at_epoch, "cloned_trial": trial_to_clone.trial_id, "cloned_epoch": _epoch(chosen.metrics),
            "old": {k: before.get(k) for k in keys}, "donor": {k: trial_to_clone.config.get(k) for k in keys},
            "new": {k: trial.config.get(k) for k in keys},
            "operations": {k: str(v) for k, v in getattr(self, "_operations", {}).items()}})

    def _record(self, trial_id: str, exploit: dict[str, Any]) -> None:
        if self.runs is None:
            return
        try:
            line = self.runs.record_exploit(trial_id, exploit)
        except Exception as exc:  # noqa: BLE001 - the record is a view of the search, never a reason to stop it
            warnings.warn(f"trial {trial_id}: its PBT exploit was not recorded in MLflow ({type(exc).__name__}: "
                          f"{exc})", RuntimeWarning, stacklevel=2)
            return
        if line:
            name = self.runs.names.get(trial_id, trial_id).removeprefix(self.runs.search_name + "-")
            console.say(f"trial {name} (pbt) {line}")


def _on_disk(result: _TrainingResult | None) -> bool:
    checkpoint = result.checkpoint if result is not None else None
    if checkpoint is None:
        return False
    try:
        return checkpoint.filesystem.get_file_info(checkpoint.path).type.name == "Directory"
    except OSError:
        return False


def hold(result: _TrainingResult, trial, name: str) -> _TrainingResult:
    """A checkpoint on the local (or a shared) filesystem as hard links in `trial`'s folder, the previous one held
    for it removed (it restored from that one and has saved its own since); a checkpoint elsewhere (cloud storage)
    as it is."""
    from pyarrow.fs import LocalFileSystem

    checkpoint = result.checkpoint
    if checkpoint is None or not isinstance(checkpoint.filesystem, LocalFileSystem) or not _on_disk(result):
        return result
    folder = Path(trial.storage.trial_fs_path)
    target = folder / f"{HELD_PREFIX}{name}"
    for earlier in folder.glob(f"{HELD_PREFIX}*"):
        shutil.rmtree(earlier, ignore_errors=True)
    shutil.copytree(checkpoint.path, target, copy_function=_link)
    return _TrainingResult(checkpoint=Checkpoint(str(target), filesystem=checkpoint.filesystem),
                           metrics=result.metrics)


def _link(source: str, target: str) -> None:
    try:
        Path(target).hardlink_to(source)
    except OSError:  # another filesystem, or one without hard links
        shutil.copy2(source, target)

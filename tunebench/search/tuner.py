"""The Ray Tune Tuner of a search session: built new, or restored from Ray Tune's saved state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tunebench import console
from tunebench.search.callbacks import InterruptWatch, KeepBestWeights, TrialRuns
from tunebench.search.methods import SCHEDULERS, asha_rungs
from tunebench.search.progress import TrialProgress, search_projection
from tunebench.search.schedulers import LineagePBT

if TYPE_CHECKING:
    from tunebench.search.session import SearchSession


def build_tuner(session: SearchSession):
    """Searcher, scheduler, per-trial resources, checkpoints, the time budget, the MLflow callback and the progress
    lines (not Ray's status table: verbose=0)."""
    from dataclasses import replace

    import ray
    from ray import tune

    benchmark, plan, options = session.benchmark, session.plan, session.options
    # the session's name and storage folder: the optuna study's name and place
    session.searcher = plan.method.searcher(plan, replace(options, name=session.name, storage_path=session.storage))
    scheduler = SCHEDULERS[plan.scheduler].build(plan, options)
    pbt = isinstance(scheduler, LineagePBT)
    # pbt changes a trial's swept keys as it trains: its continuous ones perturbed, the others the donor's
    runs = TrialRuns(session.tracker, session.experiment_id, session.parent, session.part, tuple(plan.swept),
                     tuple(plan.swept) if pbt else ())
    if pbt:
        scheduler.runs = runs  # each exploit recorded on the exploiting trial's run
    projection = None if session.part else search_projection(plan, options, session.resources,
                                                             asha_rungs(plan, options), ray.cluster_resources())
    progress = TrialProgress(runs, tuple(plan.swept), benchmark.metric, benchmark.mode, plan.max_epochs,
                             plan.num_samples, projection)
    return tune.Tuner(
        _trainable(session), param_space=plan.param_space(),
        tune_config=tune.TuneConfig(metric=benchmark.metric, mode=benchmark.mode, search_alg=session.searcher,
                                    scheduler=scheduler,
                                    num_samples=plan.num_samples, max_concurrent_trials=options.max_concurrent,
                                    time_budget_s=options.time_budget_s, trial_dirname_creator=trial_dirname,
                                    reuse_actors=options.reuse_actors and _can_reuse(session.trainable)),
        run_config=tune.RunConfig(
            name=session.name, storage_path=str(session.storage), verbose=0,
            callbacks=[runs, progress, InterruptWatch(), KeepBestWeights(session.trainable)],
            failure_config=tune.FailureConfig(max_failures=options.max_failures),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=1, num_to_keep=1, checkpoint_score_attribute=benchmark.metric,
                checkpoint_score_order=benchmark.mode)))


def can_restore(session: SearchSession) -> bool:
    from ray import tune

    return tune.Tuner.can_restore(str(session.experiment_path))


def restore_tuner(session: SearchSession):
    """Finished trials kept, unfinished ones continued from their last checkpoint (errored ones too when asked)."""
    from ray import tune

    from tunebench.search.compat import old_names

    old_names()
    return tune.Tuner.restore(str(session.experiment_path), _trainable(session), resume_unfinished=True,
                              resume_errored=session.options.retry_errored)


def _can_reuse(trainable_cls) -> bool:
    """Tune may hand a finished trial's actor (imports done, data mapped) to the next trial when the trainable
    can reset itself."""
    from ray import tune

    return trainable_cls.reset_config is not tune.Trainable.reset_config


def _trainable(session: SearchSession):
    """The trainable as Tune runs it: the dataset splits put in Ray's object store once, a trial's CPUs/GPUs."""
    from ray import tune

    cpus, gpus = session.resources
    return tune.with_resources(tune.with_parameters(session.trainable, splits=session.splits,
                                                    verbosity=console.verbosity()),
                               {"cpu": cpus, "gpu": gpus})


def trial_dirname(trial) -> str:
    return f"trial_{trial.trial_id}"

"""Optuna's samplers through Ray Tune, without training the same configuration twice, its study stored for Optuna's
tools.

The sampler is Optuna's (methods.SAMPLERS: TPE by default, GP, CMA-ES, QMC, random), seeded when built. With several
objectives (`search --objective val_acc:max,epoch_time_s:min`) the searcher is given lists of metrics and modes and
its study has a direction per objective: each trial is told its last result's value of each objective (a trial
missing one is pruned), Optuna learns nothing per epoch (its multi-objective trials take no intermediate values),
and Tune's own single metric (the first objective, for schedulers and checkpoints) does not replace the lists.

On a small categorical space (a report's values given as choices) TPE proposes configurations it has already
seen: its first ten proposals are independent random draws. A trial's training is deterministic for its
configuration and seed, so a repeat costs its epochs and tells nothing new. DistinctOptunaSearch answers such a
proposal with the earlier trial's result (Optuna records it as if it had run again) and asks for another
configuration. It runs a repeat only when a proposal keeps coming back (`attempts` times in a row), as on a space
that has been tried in full.

Two studies, one job each:
- the sampler's study, in memory: what TPE learns from, repeats answered included. It is part of the searcher's
  state, which Ray Tune pickles with its own at every experiment checkpoint, so after `--resume` it knows exactly
  the trials Ray Tune knows.
- the stored study (`storage_url`, e.g. sqlite:///optuna.db; study name: the search's name), what
  optuna-dashboard and `optuna.load_study` show: exactly one Optuna trial per Ray trial, with the Ray trial's id as
  user attribute `ray_trial_id`, its params, per-epoch metric (intermediate values) and final state and value.
  Repeats answered from an earlier result are not trials of the stored study: they never ran, and a record in
  which one configuration appears as several finished trials with one value would misreport the search (trial
  counts, durations, importance). The stored study is written as trials start, report and end (by the driver,
  where the searcher lives), and made to match the searcher whenever it is set up or restored: a driver killed
  after Optuna stored a trial but before Ray Tune saved its state leaves a trial Ray Tune forgets (it asks for a
  new one on resume), so a stored study that is not a prefix of the searcher's trials is written again from them
  (Optuna cannot delete a trial, only a study). A search that starts its trials again (stopped before Ray Tune
  saved anything) starts its stored study again too. A study of the same name that another search wrote (its
  user attribute `ray_experiment`, the search's folder, differs) is left alone, with a warning.

A benchmark's conditions (freeze_depth only with weights=imagenet) make the space define-by-run
(conditional.ConditionalSpace): a conditioned key is suggested only where it is active. `--warm-start report`
enqueues the report's configurations (Ray's points_to_evaluate: the first trials); `--warm-start mlflow` adds
earlier searches' finished trials to the sampler's study as it is set up (`evaluated`; search.warm_start), and
their configurations to the known results, so that none of them is trained again.

Writing the stored study never stops a search: an error there is a warning, and the next write tries again.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from typing import Any, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState
from ray.air.constants import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch

from tunebench import console
from tunebench.benchmark import Conditions
from tunebench.search.conditional import ConditionalSpace

RAY_TRIAL = "ray_trial_id"         # a stored trial's user attribute: the Ray Tune trial it stands for
RAY_EXPERIMENT = "ray_experiment"  # the stored study's user attribute: the search's folder (Ray Tune's experiment)
_LIVE = ("_stored", "_announced", "_refused")  # not pickled with the searcher's state: opened again when restored


class StudyOfAnotherSearch(Exception):
    """The storage holds a study of the same name that another search wrote (another --storage-path)."""


class DistinctOptunaSearch(OptunaSearch):
    def __init__(self, *args: Any, attempts: int = 50, storage_url: str | None = None, experiment: str = "",
                 conditions: Conditions | None = None, fixed: dict | None = None, evaluated: Sequence = (),
                 **kwargs: Any) -> None:
        self._storage_url = storage_url  # None: no stored study (a searcher built outside a search session)
        self._experiment = experiment    # the search's folder, which tells its study from another search's
        # the benchmark's conditions on the swept keys (over the `fixed` config): a define-by-run space (_setup_study)
        self._conditions, self._fixed = conditions, dict(fixed or {})
        self._evaluated = list(evaluated)  # --warm-start mlflow: (swept values, value or values), told at setup
        self.warm_trials = 0  # how many of them the sampler was told (inside this search's space)
        self._stored: StoredStudy | None = None
        self._refused = False
        super().__init__(*args, **kwargs)
        self._attempts = attempts
        # configuration -> its trial's final metric, or the list of its objectives' (None: running)
        self._results: dict[str, float | list[float] | None] = {}
        self._trial_keys: dict[str, str] = {}

    @staticmethod
    def _key(config: dict) -> str:
        return json.dumps(config, sort_keys=True, default=str)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        """Tune's metric and mode (TuneConfig's: the first objective) unless the searcher has several objectives of
        its own (a multi-objective study), which Tune's single metric would replace."""
        if isinstance(self._metric, list):
            metric, mode = None, None
        return super().set_search_properties(metric, mode, config, **spec)

    def _setup_study(self, mode: Any) -> None:
        if getattr(self, "_conditions", None) and isinstance(self._space, dict):
            self._space = ConditionalSpace(self._space, self._fixed, self._conditions)
        super()._setup_study(mode)  # --warm-start report: its points enqueued, the first trials
        self._tell_evaluated()
        self._stored = None  # written from the searcher's trials at its first use (after a restore, if one follows)
        self._announce()

    def _tell_evaluated(self) -> None:
        """--warm-start mlflow: earlier searches' trials as finished trials of the sampler's study (the in-memory
        one: the stored study holds this search's trials only), and as known results, so that a configuration they
        ran is answered, not trained again. Once: a resumed searcher has them in its pickled study."""
        for values, value in self._evaluated:
            if isinstance(self._space, ConditionalSpace):
                config, params = self._space.proposal(values)
                distributions = self._space.distributions_of(params)
            else:
                config = params = {key: values[key] for key in self._space}
                distributions = self._space
            several = isinstance(value, (list, tuple))
            try:
                trial = optuna.trial.create_trial(params=params, distributions=distributions,
                                                  **({"values": list(value)} if several else {"value": value}))
                self._ot_study.add_trial(trial)
            except ValueError:  # a value outside this space's distributions, or not as many values as objectives
                continue
            self._results[self._key(config)] = list(value) if several else value
            self.warm_trials += 1
        self._evaluated = []

    def _announce(self) -> None:
        """Where the study is, once, as the search starts (Tune sets a new searcher up; it restores a resumed one)."""
        if getattr(self, "_storage_url", None) and not getattr(self, "_announced", False):
            self._announced = True
            console.say(f"Optuna study '{self._study_name}' in {self._storage_url}; to watch it: "
                        f"optuna-dashboard {self._storage_url}")

    def suggest(self, trial_id: str) -> dict | None:
        for attempt in range(self._attempts):
            config = super().suggest(trial_id)
            key = self._key(config)
            if key not in self._results or attempt == self._attempts - 1:
                break
            repeat = self._ot_trials.pop(trial_id)
            if self._results[key] is None:  # the same configuration is training now: nothing to learn here
                self._ot_study.tell(repeat, state=TrialState.FAIL)
            else:
                self._ot_study.tell(repeat, self._results[key])
        self._results.setdefault(key, None)
        self._trial_keys[trial_id] = key
        self._store(lambda stored: stored.add(trial_id, self._frozen(trial_id)))
        return config

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._ot_trials and result.get(TRAINING_ITERATION) in self._frozen(trial_id).intermediate_values:
            return  # an epoch run again (a trial continued from a checkpoint older than its last result): known
        super().on_trial_result(trial_id, result)
        if trial_id in self._ot_trials and not isinstance(self.metric, list):
            self._store(lambda stored: stored.report(trial_id, self._frozen(trial_id)))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        key = self._trial_keys.pop(trial_id, None)
        value = None if error else self._value(result)
        if value is None and isinstance(self.metric, list):
            result = None  # an objective not reported: pruned (failed on error) rather than told half its values
        self._report_last(trial_id, result)
        if key is not None and value is not None:
            self._results[key] = value
        elif key is not None and self._results.get(key) is None:
            self._results.pop(key, None)  # failed: the configuration may be tried again
        super().on_trial_complete(trial_id, result, error)
        if trial_id in self._ot_trials:
            self._store(lambda stored: stored.finish(trial_id, self._frozen(trial_id)))

    def _value(self, result: dict | None) -> float | list[float] | None:
        """What Optuna is told of a trial that ended: its last result's metric, or each objective's value (None when
        one is missing)."""
        if not isinstance(self.metric, list):
            return (result or {}).get(self.metric)
        values = [(result or {}).get(metric) for metric in self.metric]
        return None if any(v is None for v in values) else values

    def _report_last(self, trial_id: str, result: dict | None) -> None:
        """The result a trial ends with as its last per-epoch value too: Tune hands a trial's last result (the
        scheduler stopped it, or its epochs are done) to on_trial_complete only. TPE does not read these."""
        step = (result or {}).get(TRAINING_ITERATION)
        value = (result or {}).get(self.metric) if isinstance(self.metric, str) else None
        if (trial_id in self._ot_trials and trial_id not in self._completed_trials and step is not None
                and value is not None and step not in self._frozen(trial_id).intermediate_values
                and not self._frozen(trial_id).state.is_finished()):
            self._ot_trials[trial_id].report(value, step)

    # --scheduler bohb: HyperBandForBOHB tells the searcher when it pauses a trial at a rung and lets it go on

    def on_pause(self, trial_id: str) -> None:
        """A paused trial is still a running trial of the study (Optuna has no paused state; its later epochs report
        as usual). TuneBOHB takes a paused trial out of its own concurrency count; this searcher keeps none (Tune's
        ConcurrencyLimiter counts live trials, paused ones included): nothing to do."""

    def on_unpause(self, trial_id: str) -> None:
        """See on_pause: the trial goes on as the same Optuna trial."""

    # the stored study

    def _frozen(self, trial_id: str) -> FrozenTrial:
        """The sampler's record of a Ray trial (in-memory study: trial numbers are list positions)."""
        return self._ot_study.get_trials(deepcopy=False)[self._ot_trials[trial_id].number]

    def _ray_trials(self) -> list[tuple[str, FrozenTrial]]:
        """The Ray trials the searcher knows, in the order it asked for them."""
        trials = self._ot_study.get_trials(deepcopy=False)
        return sorted(((trial_id, trials[trial.number]) for trial_id, trial in self._ot_trials.items()),
                      key=lambda pair: pair[1].number)

    def _store(self, write) -> None:
        """`write(stored)` on the stored study, opened (and made to match the searcher) on first use."""
        if not getattr(self, "_storage_url", None) or self._ot_study is None or self._refused:
            return
        try:
            if self._stored is None:
                stored = StoredStudy.open(self._storage_url, self._study_name, self._ot_study.directions,
                                          getattr(self, "_experiment", ""))
                stored.match(self._ray_trials())
                self._stored = stored
            write(self._stored)
        except StudyOfAnotherSearch as exc:
            self._refused = True  # left as it is: this search's study is not stored (this time)
            warnings.warn(f"Optuna study not stored: {self._storage_url} holds {exc}, left as it is; another --name "
                          f"stores this search's study", RuntimeWarning, stacklevel=2)
        except Exception as exc:  # noqa: BLE001 - the record is a view of the search, never a reason to stop it
            self._stored = None  # written again from the searcher's trials at the next event
            warnings.warn(f"Optuna study '{self._study_name}' in {self._storage_url} not updated: "
                          f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)

    # Ray Tune's experiment checkpoints: the searcher's state without the open database

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in _LIVE}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._stored, self._refused = None, False

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as file:
            pickle.dump(self.__getstate__(), file)

    def restore(self, checkpoint_path: str) -> None:
        optuna.logging.set_verbosity(console.library_log_level())  # as methods._optuna left it when the search started
        super().restore(checkpoint_path)
        self._stored = None
        self._announce()
        self._store(lambda stored: None)  # the stored study as the restored searcher knows it, before any trial runs


class StoredStudy:
    """A study in an Optuna storage that holds one trial per Ray trial (written by the one driver process)."""

    def __init__(self, storage: optuna.storages.BaseStorage, name: str, directions: list, experiment: str) -> None:
        self.storage, self.name, self.directions, self.experiment = storage, name, list(directions), experiment
        self.study_id: int | None = None
        self.ids: dict[str, int] = {}  # Ray trial id -> stored trial id
        self.steps: dict[str, set[int]] = {}  # Ray trial id -> the steps of its stored intermediate values
        self.finished: set[str] = set()  # Ray trial ids whose stored trial is finished

    @classmethod
    def open(cls, url: str, name: str, directions: list, experiment: str) -> StoredStudy:
        return cls(rdb_storage(url), name, directions, experiment)

    def match(self, ray_trials: list[tuple[str, FrozenTrial]]) -> None:
        """Make the stored study hold `ray_trials` (the searcher's, in order): kept when its trials are the first
        of them (finished ones brought up to date, the rest added), written again from them otherwise."""
        storage = self.storage
        try:
            self.study_id = storage.get_study_id_from_name(self.name)
        except KeyError:
            self.study_id = None
        stored: list[FrozenTrial] = []
        if self.study_id is not None:
            stored = storage.get_all_trials(self.study_id, deepcopy=False)
            known = [trial_id for trial_id, _ in ray_trials]
            written_by = storage.get_study_user_attrs(self.study_id).get(RAY_EXPERIMENT)
            if stored and written_by != self.experiment and stored[0].user_attrs.get(RAY_TRIAL) not in known:
                raise StudyOfAnotherSearch(f"a study '{self.name}' of another search ({written_by or 'unknown'})")
            if ([t.user_attrs.get(RAY_TRIAL) for t in stored] != known[:len(stored)]
                    or storage.get_study_directions(self.study_id) != self.directions):
                storage.delete_study(self.study_id)  # trials Ray Tune forgot, or trials that start again
                self.study_id, stored = None, []
        if self.study_id is None:
            self.study_id = storage.create_new_study(self.directions, self.name)
            storage.set_study_user_attr(self.study_id, RAY_EXPERIMENT, self.experiment)
        self.ids = {t.user_attrs[RAY_TRIAL]: t._trial_id for t in stored}
        self.steps = {t.user_attrs[RAY_TRIAL]: set(t.intermediate_values) for t in stored}
        self.finished = {t.user_attrs[RAY_TRIAL] for t in stored if t.state.is_finished()}
        for trial_id, trial in ray_trials[len(stored):]:
            self.add(trial_id, trial)
        for trial_id, trial in ray_trials[:len(stored)]:
            if trial.state.is_finished():
                self.finish(trial_id, trial)

    def add(self, trial_id: str, trial: FrozenTrial) -> None:
        if trial_id in self.ids:  # written when the study was opened
            return
        template = FrozenTrial(
            number=0, state=trial.state, value=None, values=trial.values, datetime_start=trial.datetime_start,
            datetime_complete=trial.datetime_complete, params=trial.params, distributions=trial.distributions,
            user_attrs={**trial.user_attrs, RAY_TRIAL: trial_id}, system_attrs={},
            intermediate_values=trial.intermediate_values, trial_id=0)
        self.ids[trial_id] = self.storage.create_new_trial(self.study_id, template_trial=template)
        self.steps[trial_id] = set(trial.intermediate_values)
        if trial.state.is_finished():
            self.finished.add(trial_id)

    def report(self, trial_id: str, trial: FrozenTrial) -> None:
        """The trial's latest per-epoch value (Ray Tune reports one result per epoch)."""
        if trial.intermediate_values and not trial.state.is_finished():
            self._write_steps(trial_id, trial, [max(trial.intermediate_values)])

    def finish(self, trial_id: str, trial: FrozenTrial) -> None:
        """The trial's end: the per-epoch values not stored yet (its last), then its state and value. Each write
        is one transaction: a trial's end costs the same whatever its epochs."""
        if trial_id in self.finished:
            return  # ended before the driver stopped; Ray Tune ran its last epochs again
        self._write_steps(trial_id, trial, list(trial.intermediate_values))
        self.storage.set_trial_state_values(self.ids[trial_id], trial.state,
                                            trial.values if trial.state == TrialState.COMPLETE else None)
        self.finished.add(trial_id)

    def _write_steps(self, trial_id: str, trial: FrozenTrial, steps: list[int]) -> None:
        written = self.steps.setdefault(trial_id, set())
        for step in steps:
            if step not in written:
                self.storage.set_trial_intermediate_value(self.ids[trial_id], step, trial.intermediate_values[step])
                written.add(step)


def rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's database storage. A new SQLite file's tables are created by one process at a time (two searches
    starting at once on one optuna.db); writers wait for each other's short transactions up to 60 s."""
    from optuna.storages import RDBStorage

    if not url.startswith("sqlite:///"):
        return RDBStorage(url)
    from filelock import FileLock

    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=300):
        return RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})

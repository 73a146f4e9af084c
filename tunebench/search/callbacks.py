"""The Ray Tune callbacks of a search: TrialRuns records every trial in MLflow (through tracking.Tracker);
InterruptWatch notes a stop signal."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ray.tune import Callback

from tunebench.reports import describe, format_value
from tunebench.signals import note_interrupts
from tunebench.tracking import Tag, Tracker
from tunebench.trials import BEST_OF, EPOCH_KEY, ERROR, ROWS_KEY, best_so_far, epoch_metrics, trial_outcome


HP_PREFIX = "hp_"             # + a key pbt changes: a trial run's metric of the value each epoch trained with
LINEAGE_FILE = "pbt_lineage.json"  # a trial run's artifact: each exploit of pbt that changed it
LINEAGE_TAG_CHARS = 5000      # the pbt_lineage tag keeps its latest lines within MLflow's limit on a tag's value


class InterruptWatch(Callback):
    """Notes a stop signal while Tune runs the trials (signals.INTERRUPTED): Tune installs its own SIGINT handler
    before it sets up the callbacks, and says nothing when that handler ended its loop."""

    def setup(self, **info) -> None:
        note_interrupts()

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        """A trial Tune completed is done, as results.finish reads its last result: a scheduler that stops a paused
        trial (hyperband's and bohb's rungs) leaves that result without `done`, like a trial an interrupt cut short."""
        if trial.last_result is not None and not trial.last_result.get("done"):
            trial.last_result["done"] = True


class TrialRuns(Callback):
    """Tune callback: a child run per trial nested under the search's parent run, metrics every epoch.

    The runs themselves say which trial they belong to (their trial_id tag), so a resumed search continues the
    same runs whatever was interrupted when: a run is created once per trial, an epoch is logged once per run
    (a trial restored from an older checkpoint repeats epochs that are already logged: they are not logged
    again), and runs of trials that Ray Tune never saved before the driver died are deleted when the search
    resumes (their trials do not exist any more; MLflow can still restore a deleted run).
    """

    def __init__(self, tracker: Tracker, experiment_id: str, parent_run_id: str, part: str | None = None,
                 swept: tuple[str, ...] = (), mutated: tuple[str, ...] = ()) -> None:
        self.tracker = tracker
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.part = part  # a study's part: its runs are tagged with it, beside the other parts' under one parent
        self.swept = tuple(swept)  # the keys a trial run's description gives
        # the keys the scheduler changes while a trial trains (pbt: the swept ones, perturbed or the donor's):
        # params hold their first values, metrics hp_<key> the value of each epoch, the pbt_lineage tag and
        # artifact each change (record_exploit)
        self.mutated = tuple(mutated)
        self.search_name = tracker.client.get_run(parent_run_id).info.run_name  # trial runs are <search>-<number>
        earlier = tracker.trial_runs(experiment_id, parent_run_id, part)
        self.runs = {trial_id: run.info.run_id for trial_id, run in earlier.items()}
        self.names = {trial_id: run.info.run_name for trial_id, run in earlier.items()}  # what TrialProgress says
        self.unchecked = set(self.runs)  # runs of an earlier session: is their trial still in Tune's state?
        self.best: dict[str, dict[str, float]] = {}  # trial id -> best_val_* so far
        self.logged: dict[str, set[int]] = {}  # trial id -> epochs its run holds (known: a trial of this session)
        self.lineage = {trial_id: run.data.tags[Tag.PBT_LINEAGE] for trial_id, run in earlier.items()
                        if Tag.PBT_LINEAGE in run.data.tags}  # trial id -> its pbt_lineage tag
        self.exploits: dict[str, list[dict[str, Any]]] = {}  # trial id -> its pbt_lineage.json entries

    def __getstate__(self) -> dict:
        """Tuner.restore unpickles the callback: keep where things are, not the client or a stale map."""
        return {"uri": self.tracker.uri, "experiment_id": self.experiment_id, "parent_run_id": self.parent_run_id,
                "part": self.part, "swept": self.swept, "mutated": self.mutated}

    def __setstate__(self, state: dict) -> None:
        self.__init__(Tracker(state["uri"]), state["experiment_id"], state["parent_run_id"], state.get("part"),
                      state.get("swept", ()), state.get("mutated", ()))

    def on_step_begin(self, iteration: int, trials: list, **info) -> None:
        if not self.unchecked:
            return
        ghosts = self.unchecked - {trial.trial_id for trial in trials}
        self.unchecked = set()
        for trial_id in ghosts:
            self.tracker.client.delete_run(self.runs.pop(trial_id))

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            config = dict(trial.config)
            rows = config.pop(ROWS_KEY, None)  # a study's row labels: the run's name and a tag, not a param
            values = describe({k: config[k] for k in self.swept if k in config})
            name = rows.split("; ")[0] if rows else f"{self.search_name}-{len(self.runs) + 1:03d}"
            run_id = self.tracker.start_run(
                self.experiment_id, name, config, {Tag.PARENT: self.parent_run_id, Tag.TRIAL: trial.trial_id,
                         **({Tag.NOTE: rows or values} if rows or values else {}),
                         **({Tag.PART: self.part} if self.part else {}), **({Tag.ROWS: rows} if rows else {})})
            self.runs[trial.trial_id], self.names[trial.trial_id] = run_id, name
            self.logged[trial.trial_id] = set()
            return
        if trial.trial_id in self.logged:
            return  # paused and started again in this session (hyperband, pbt): its run goes on as it is
        # a resumed or retried trial: the same run; what it logged says its epochs and best values so far
        self.tracker.client.update_run(run_id, status="RUNNING")
        # the same values again: a no-op unless a kill lost them (not the keys pbt changed: params keep the first)
        self.tracker.log_params(run_id, {k: v for k, v in trial.config.items()
                                         if k != ROWS_KEY and k not in self.mutated})
        histories = {key: self.tracker.client.get_metric_history(run_id, key) for key in {*BEST_OF, EPOCH_KEY}}
        best: dict[str, float] = {}
        for key in BEST_OF:
            for metric in histories[key]:
                best = best_so_far(best, {key: metric.value})
        self.best[trial.trial_id] = best
        self.logged[trial.trial_id] = {m.step for m in histories[EPOCH_KEY]}

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        run_id = self.runs.get(trial.trial_id)
        if run_id:
            step = int(result.get("epoch", result["training_iteration"]))
            metrics = epoch_metrics(result)
            trained_with = result.get("config") or {}  # the trial's config as its actor had it for this epoch
            metrics.update({f"{HP_PREFIX}{k}": trained_with[k] for k in self.mutated
                            if isinstance(trained_with.get(k), (int, float))})
            logged = self.logged.setdefault(trial.trial_id, set())
            if step not in logged:
                self.tracker.log_metrics(run_id, metrics, step=step)
                logged.add(step)
            self.best[trial.trial_id] = best_so_far(self.best.get(trial.trial_id, {}), metrics)

    def _end(self, trial, status: str, outcome: str, tags: Mapping[str, Any] | None = None) -> None:
        """How the trial ended and its best values in one write, then the run's status: the Tune loop waits on
        these before it hands the actor to the next trial."""
        run_id = self.runs.get(trial.trial_id)
        if run_id is None:
            return
        last = trial.last_result or {}
        self.tracker.log_batch(run_id, metrics=self.best.pop(trial.trial_id, {}),  # best_val_acc, best_val_loss, ...
                               tags={**(tags or {}), Tag.OUTCOME: outcome, Tag.EPOCHS_RUN: last.get("epoch", 0)})
        self.tracker.end_run(run_id, status)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        self._end(trial, "FINISHED", trial_outcome(trial.last_result, trial.config.get("epochs", 0)))

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        tags = {Tag.ERROR_FILE: trial.error_file, Tag.ERROR: error_line(trial)} if trial.error_file else {}
        self._end(trial, "FAILED", ERROR, tags)

    def record_exploit(self, trial_id: str, exploit: dict[str, Any]) -> str | None:
        """PBT continued a trial from another trial's checkpoint with new values (schedulers.LineagePBT): one line
        more in its run's pbt_lineage tag ("epoch 4: cloned smoke-002 (lr 0.01 -> 0.012)"), the entry in its
        pbt_lineage.json (which trial and run it cloned at which of their epochs, each key's old, donor's and new
        value and PBT's operation), and the epochs after the cloned one logged again as the trial runs them.
        Returns the line; None when the trial has no run."""
        import json

        run_id = self.runs.get(trial_id)
        if run_id is None:
            return None
        entry = {**exploit, "cloned_run": self.names.get(exploit["cloned_trial"], exploit["cloned_trial"])}
        at, cloned = entry["epoch"], entry["cloned_epoch"]
        changes = ", ".join(f"{k} {format_value(entry['old'].get(k))} -> {format_value(v)}"
                            for k, v in entry["new"].items())
        line = (f"epoch {at}: cloned {entry['cloned_run']}" + (f" at its epoch {cloned}" if cloned != at else "")
                + f" ({changes})")
        exploits = self._exploits(trial_id, run_id) + [entry]
        self.exploits[trial_id] = exploits
        text = "; ".join(filter(None, (self.lineage.get(trial_id), line)))
        self.lineage[trial_id] = text if len(text) <= LINEAGE_TAG_CHARS else "..." + text[-LINEAGE_TAG_CHARS + 3:]
        self.tracker.set_tags(run_id, {Tag.PBT_LINEAGE: self.lineage[trial_id]})
        self.tracker.client.log_text(run_id, json.dumps(
            {"trial_id": trial_id, "run": self.names.get(trial_id), "exploits": exploits}, indent=1, default=str),
            LINEAGE_FILE)
        if trial_id in self.logged:  # it runs the cloned trial's later epochs again, with its own values
            self.logged[trial_id] = {step for step in self.logged[trial_id] if step <= cloned}
        return line

    def _exploits(self, trial_id: str, run_id: str) -> list[dict[str, Any]]:
        """A trial's exploits so far: this session's, or (a resumed search) those its run's artifact holds."""
        import json
        import tempfile

        if trial_id in self.exploits or trial_id not in self.lineage:
            return self.exploits.get(trial_id, [])
        with tempfile.TemporaryDirectory() as folder:
            path = self.tracker.download(run_id, LINEAGE_FILE, Path(folder))
            return json.loads(path.read_text())["exploits"] if path else []


def error_line(trial) -> str:
    """The last line of a failed trial's error file (the exception), or "unknown"."""
    path = Path(trial.error_file) if trial.error_file else None
    lines = path.read_text(errors="replace").strip().splitlines() if path and path.is_file() else []
    return lines[-1] if lines else "unknown"


class KeepBestWeights(Callback):
    """A finished trial keeps one checkpoint, its best, with the weights only (the trainable's keep_weights_only):
    the full training state (optimiser, LR schedule, random state) is kept only while the trial can still resume.
    A trial that errored keeps everything (`--resume --retry-errored` continues it). Checkpoints on a local or
    shared filesystem only; cloud storage is left as Ray Tune keeps it."""

    def __init__(self, trainable: type) -> None:
        self.trainable = trainable

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        import shutil
        import warnings

        from pyarrow.fs import LocalFileSystem

        best = trial.run_metadata.checkpoint_manager.best_checkpoint_result
        if best is None or not isinstance(best.checkpoint.filesystem, LocalFileSystem):
            return
        keep = Path(best.checkpoint.path)
        try:
            for folder in Path(trial.storage.trial_fs_path).glob("checkpoint_*"):
                if folder != keep and folder.is_dir():
                    shutil.rmtree(folder)
            self.trainable.keep_weights_only(str(keep))
        except (OSError, RuntimeError) as exc:  # a full disk: the search goes on with the checkpoints as they are
            warnings.warn(f"trial {trial.trial_id}: its checkpoints were not reduced to the best weights ({exc})")

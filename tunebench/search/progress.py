"""What a search prints while Ray Tune runs it, instead of Ray's status table: one line per trial event (started
with its values, an epoch's validation figures when epochs are long, finished, stopped early, failed), and after
the first epoch an estimate of the whole search on this machine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ray.tune import Callback

from tunebench import console
from tunebench.console import duration
from tunebench.reports import describe
from tunebench.search.callbacks import TrialRuns, error_line
from tunebench.trials import COMPLETED, EARLY_STOPPED, STOPPED_BY_SCHEDULER, trial_outcome

EPOCH_LINE_SECONDS = 5.0  # an epoch at least this long gets its own line (every epoch with --verbose)
LONG_SEARCH_S = 3600.0    # a projection beyond this on a machine without a GPU suggests --time-budget or --smoke


@dataclass(frozen=True)
class Projection:
    """What the whole search costs, from the first epoch's time."""

    trials: int
    max_epochs: int
    slots: int                            # trials at once
    gpus: bool
    asha: tuple[int, int] | None = None   # (grace period, reduction factor) when ASHA stops trials
    time_budget_s: float | None = None
    ends_at: float = 0.0                  # when the time budget runs out (time.time())
    stopper: str = ""                     # another scheduler that stops trials early (hyperband, bohb, median)

    def expected_epochs(self) -> float:
        """Epochs per trial: every epoch, or what ASHA's rungs leave on average (a 1/reduction share of the trials
        passes each rung)."""
        if not self.asha:
            return float(self.max_epochs)
        grace, factor = self.asha
        rungs = []
        rung = grace
        while rung < self.max_epochs:
            rungs.append(rung)
            rung *= factor
        total, start = 0.0, 0
        for k, end in enumerate([*rungs, self.max_epochs]):
            total += (end - start) / factor ** k
            start = end
        return total

    def lines(self, epoch_s: float) -> list[str]:
        every = self.trials * self.max_epochs * epoch_s / self.slots
        where = f"{self.slots} trial{'s' * (self.slots > 1)} at a time, {'GPU' if self.gpus else 'CPU only'}"
        text = [f"first epoch: {duration(epoch_s)} on this machine ({where}). The whole search: about "
                f"{duration(every)} for {self.trials} trials x {self.max_epochs} epochs"]
        expected = every
        if self.asha:
            expected = self.trials * self.expected_epochs() * epoch_s / self.slots
            text[0] += f", about {duration(expected)} with ASHA stopping the weaker trials as it should"
        elif self.stopper:
            text[0] += f" (at most: {self.stopper} stops the weaker trials early)"
        if self.time_budget_s:
            ends = time.strftime("%H:%M:%S", time.localtime(self.ends_at))
            text.append(f"--time-budget {duration(self.time_budget_s)}: no trial starts after {ends}, running ones "
                        f"stop then, and the best trial so far is evaluated")
        elif not self.gpus and expected > LONG_SEARCH_S:
            text.append("that is long for a machine without a GPU: bound it with --time-budget 1h (the best trial by "
                        "then is evaluated as usual), or try --smoke first; Ctrl-C stops it, --resume continues it")
        return text


class TrialProgress(Callback):
    """One line per trial event on the driver, named as the trial's MLflow run is (`trial 003`, a study's row)."""

    def __init__(self, runs: TrialRuns, swept: tuple[str, ...], metric: str, mode: str, max_epochs: int, total: int,
                 projection: Projection | None = None, say: Callable[[str], None] = console.say) -> None:
        self.runs, self.swept, self.metric, self.mode, self.max_epochs = runs, swept, metric, mode, max_epochs
        self.total = total  # trials the search runs (at most)
        self.projection, self.say = projection, say
        self.best: dict[str, tuple[float, int]] = {}  # trial id -> (best metric, its epoch)
        self.started: dict[str, float] = {}
        self.retried: set[str] = set()  # trials that failed and start again from their checkpoint (--max-failures)
        self.ended = 0
        self.estimated = projection is None

    def __getstate__(self) -> dict:
        """Tuner.restore unpickles the callbacks: a resumed search estimates nothing again."""
        return {**self.__dict__, "say": None, "estimated": True, "best": {}, "started": {}, "retried": set()}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.say = console.say
        self.__dict__.setdefault("retried", set())  # pickled by an earlier version

    def _label(self, trial) -> str:
        name = self.runs.names.get(trial.trial_id, trial.trial_id)
        return f"trial {name.removeprefix(self.runs.search_name + '-')}"

    def on_trial_start(self, iteration: int, trials: list, trial, **info) -> None:
        if trial.trial_id in self.started and trial.trial_id not in self.retried:
            return  # paused and started again (hyperband's rungs, pbt's turns): no line each time
        self.retried.discard(trial.trial_id)
        self.started.setdefault(trial.trial_id, time.monotonic())
        values = describe({k: trial.config[k] for k in self.swept if k in trial.config})
        done = (trial.last_result or {}).get("epoch")
        how = f"continues after epoch {done}" if done else "started"
        self.say(f"{self._label(trial)} ({trial.trial_id}) {how}" + (f": {values}" if values else ""))

    def on_trial_recover(self, iteration: int, trials: list, trial, **info) -> None:
        self.retried.add(trial.trial_id)  # its start again says where it continues

    def on_trial_result(self, iteration: int, trials: list, trial, result: dict, **info) -> None:
        value, epoch = result.get(self.metric), int(result.get("epoch", result.get("training_iteration", 0)))
        if value is not None:
            best = self.best.get(trial.trial_id)
            if best is None or (value > best[0] if self.mode == "max" else value < best[0]):
                self.best[trial.trial_id] = (value, epoch)
        seconds = result.get("time_this_iter_s") or 0.0
        if not self.estimated and seconds:
            self.estimated = True
            for line in self.projection.lines(seconds):
                self.say(line)
        if seconds >= EPOCH_LINE_SECONDS or console.verbosity() >= console.VERBOSE:
            shown = [k for k in dict.fromkeys((self.metric, "val_acc", "val_loss")) if k in result]
            self.say(f"{self._label(trial)} epoch {epoch}/{result.get('planned_epochs', self.max_epochs)}: "
                     + ", ".join(f"{k} {result[k]:.4g}" for k in shown) + f" ({duration(seconds)})")

    def _ended(self, trial, how: str) -> None:
        self.ended += 1
        took = time.monotonic() - self.started.pop(trial.trial_id, time.monotonic())
        best = self.best.pop(trial.trial_id, None)
        figure = f"; best {self.metric} {best[0]:.4g} at epoch {best[1]}" if best else ""
        self.say(f"{self._label(trial)} {how}{figure} ({duration(took)}; {self.ended} of {self.total} trials ended)")

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        last = trial.last_result or {}
        outcome = trial_outcome(last, trial.config.get("epochs", self.max_epochs))
        epochs = last.get("epoch", 0)
        how = {COMPLETED: f"finished {epochs} epochs",
               EARLY_STOPPED: f"stopped by its early stopping after epoch {epochs}",
               STOPPED_BY_SCHEDULER: f"stopped by the scheduler after epoch {epochs}"}.get(outcome, outcome)
        self._ended(trial, how)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        self._ended(trial, f"failed: {error_line(trial)}")


def search_projection(plan, options, resources: tuple[float, float], asha: tuple[int, int] | None,
                      cluster: dict[str, Any]) -> Projection:
    """The estimate's inputs: trials at once from the cluster's CPUs and GPUs per trial and --max-concurrent."""
    from tunebench.search.methods import SCHEDULERS

    cpus, gpus = resources
    by_gpus = int(cluster.get("GPU", 0) // gpus) if gpus else plan.num_samples
    slots = min(plan.num_samples, options.max_concurrent or plan.num_samples, int(cluster.get("CPU", 1) // cpus) or 1,
                by_gpus)
    stopper = plan.scheduler if SCHEDULERS[plan.scheduler].stops_trials and not asha else ""
    return Projection(plan.num_samples, plan.max_epochs, max(slots, 1), gpus > 0, asha, options.time_budget_s,
                      time.time() + (options.time_budget_s or 0), stopper=stopper)

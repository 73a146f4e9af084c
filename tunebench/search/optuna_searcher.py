"""Optuna's TPE through Ray Tune, without training the same configuration twice.

On a small categorical space (a report's values given as choices) TPE proposes configurations it has already
seen: its first ten proposals are independent random draws. A trial's training is deterministic for its
configuration and seed, so a repeat costs its epochs and tells nothing new. DistinctOptunaSearch answers such a
proposal with the earlier trial's result (Optuna records it as if it had run again) and asks for another
configuration. It runs a repeat only when a proposal keeps coming back (`attempts` times in a row), as on a space
that has been tried in full.
"""

from __future__ import annotations

import json
from typing import Any

from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch


class DistinctOptunaSearch(OptunaSearch):
    def __init__(self, *args: Any, attempts: int = 50, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._attempts = attempts
        self._results: dict[str, float | None] = {}  # configuration -> its trial's final metric (None: running)
        self._trial_keys: dict[str, str] = {}

    @staticmethod
    def _key(config: dict) -> str:
        return json.dumps(config, sort_keys=True, default=str)

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
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        key = self._trial_keys.pop(trial_id, None)
        value = None if error else (result or {}).get(self.metric)
        if key is not None and value is not None:
            self._results[key] = value
        elif key is not None and self._results.get(key) is None:
            self._results.pop(key, None)  # failed: the configuration may be tried again
        super().on_trial_complete(trial_id, result, error)

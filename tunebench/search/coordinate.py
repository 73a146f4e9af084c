"""Coordinate search: the reports' "keep the best, search the next", as a Ray Tune Searcher.

One hyperparameter at a time, in the grid's order: every value of the current one is tried with the best
values found so far for the others; when the round is over, its best value is kept and the next
hyperparameter is searched. A configuration already run in an earlier round is not run again. With a benchmark's
conditions, a candidate its conditions forbid becomes the allowed one (an inactive key at its default), run once.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ray.tune.search import Searcher

from tunebench.benchmark import Conditions
from tunebench.search.stateful import StatefulSearcher


class CoordinateSearch(StatefulSearcher):
    def __init__(self, grid: Mapping[str, Sequence[Any]], start: Mapping[str, Any],
                 metric: str | None = None, mode: str | None = None, conditions: Conditions | None = None) -> None:
        super().__init__(metric=metric, mode=mode)
        self.conditions = conditions or Conditions()
        self.context = {k: v for k, v in start.items() if k in self.conditions.rules
                        or any(k in rule.keys for rule in self.conditions.rules.values())}  # what the conditions read
        self.order = list(grid)
        self.grid = {key: list(values) for key, values in grid.items()}
        self.best = {key: start[key] for key in self.order}   # best value so far of every swept key
        self.round = -1                                          # index into order
        self.queue: list[dict[str, Any]] = []                    # this round's configs not yet suggested
        self.running: dict[str, tuple] = {}                      # trial_id -> config key
        self.scores: dict[tuple, float] = {}                     # config key -> best metric seen
        self.rounds: list[tuple[str, Any]] = []                  # (key, value kept) per finished round

    def _key(self, config: Mapping[str, Any]) -> tuple:
        return tuple(config[key] for key in self.order)

    def _allowed(self, config: dict[str, Any]) -> dict[str, Any]:
        """The candidate as it runs: the swept keys and the conditioned ones, the conditions applied."""
        if not self.conditions:
            return config
        full = self.conditions.apply({**self.context, **config})
        return {key: full[key] for key in [*self.order, *self.conditions.rules] if key in full}

    def _better(self, a: float, b: float | None) -> bool:
        return b is None or (a > b if self._mode == "max" else a < b)

    def _start_next_round(self) -> bool:
        """Close the current round (keep its best value) and queue the next; False when none is left."""
        while True:
            if self.round >= 0:
                key = self.order[self.round]
                best_value = self.best[key]  # on a tie the value held so far is kept
                best_score = self.scores.get(self._key(self._allowed(self.best)))
                for value in self.grid[key]:
                    candidate = self._allowed({**self.best, key: value})
                    score = self.scores.get(self._key(candidate))
                    if score is not None and self._better(score, best_score):
                        best_value, best_score = candidate[key], score
                self.best[key] = best_value
                self.best = {k: v for k, v in self._allowed(self.best).items() if k in self.order}
                self.rounds.append((key, best_value))
            self.round += 1
            if self.round >= len(self.order):
                return False
            key = self.order[self.round]
            candidates = [self._allowed({**self.best, key: value}) for value in self.grid[key]]
            candidates = [c for i, c in enumerate(candidates) if self._key(c) not in map(self._key, candidates[:i])]
            self.queue = [c for c in candidates if self._key(c) not in self.scores]
            if self.queue:
                return True

    def suggest(self, trial_id: str) -> dict | None:
        if not self.queue and not self.running:
            if not self._start_next_round():
                return Searcher.FINISHED
        if not self.queue:
            return None  # wait for this round's running trials before choosing its best value
        config = self.queue.pop(0)
        self.running[trial_id] = self._key(config)
        return dict(config)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        key = self.running.get(trial_id)
        if key is not None and self._metric in result and self._better(result[self._metric], self.scores.get(key)):
            self.scores[key] = result[self._metric]

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if result and not error:
            self.on_trial_result(trial_id, result)
        self.running.pop(trial_id, None)

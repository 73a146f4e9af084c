"""PointSearch: a Ray Tune Searcher that runs a given list of configurations, in order, then finishes.

`--search oneway` (one key at a time around the defaults), `--search single` (the defaults as they are) and the
rows of a study (`tunebench study`) are such lists.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ray.tune.search import Searcher

from tunebench.search.stateful import StatefulSearcher


class PointSearch(StatefulSearcher):
    def __init__(self, points: Sequence[Mapping[str, Any]], metric: str | None = None,
                 mode: str | None = None) -> None:
        super().__init__(metric=metric, mode=mode)
        self.points = [dict(point) for point in points]
        self.next = 0  # index of the next point to suggest

    def suggest(self, trial_id: str) -> dict | None:
        if self.next >= len(self.points):
            return Searcher.FINISHED
        self.next += 1
        return dict(self.points[self.next - 1])

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        pass

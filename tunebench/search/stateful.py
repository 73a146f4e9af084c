"""The base of tunebench's own Ray Tune searchers: metric and mode as Tune sets them, and their whole state saved
with Ray Tune's experiment state (pickled), so a resumed search continues where the searcher was."""

from __future__ import annotations

import pickle

from ray.tune.search import Searcher


class StatefulSearcher(Searcher):
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec) -> bool:
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        return True

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__dict__, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__dict__.update(pickle.load(f))

"""Names under which searches started by earlier tunebench versions pickled their objects (callbacks, searchers,
the trial-folder function): Tuner.restore finds them there."""

from __future__ import annotations

import sys


def old_names() -> None:
    import tunebench.search
    import tunebench.tracking
    from tunebench.search import callbacks, coordinate, optuna_searcher, tuner

    sys.modules.setdefault("tunebench.tune_callbacks", callbacks)
    sys.modules.setdefault("tunebench.optuna_search", optuna_searcher)
    sys.modules.setdefault("tunebench.coordinate_search", coordinate)
    tunebench.tracking.TrialRuns = callbacks.TrialRuns  # before the callback left the tracking module
    tunebench.search._trial_dirname = tuner.trial_dirname  # before search became a package

"""Ray Tune callbacks of a search that are not about MLflow (the MLflow callback is tracking.TrialRuns)."""

from __future__ import annotations

from ray.tune import Callback

from tunebench.signals import note_interrupts


class InterruptWatch(Callback):
    """Notes a stop signal while Tune runs the trials (signals.INTERRUPTED): Tune installs its own SIGINT handler
    before it sets up the callbacks, and says nothing when that handler ended its loop."""

    def setup(self, **info) -> None:
        note_interrupts()

"""How tunebench stops: SIGTERM and SIGHUP are Ctrl-C, writes that belong together are not split by a signal, and
Ray Tune's SIGINT handler does not outlive the fit (the test evaluation after it stays interruptible)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tunebench.signals import deferred_signals, sigint_kept, stop_signals_interrupt


@pytest.fixture
def own_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_sigterm_and_sighup_stop_like_ctrl_c(own_handlers, signum):
    stop_signals_interrupt()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)
        time.sleep(5)


def test_a_signal_during_writes_that_belong_together_comes_after_them(own_handlers):
    stop_signals_interrupt()
    written = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)  # the handler would run here
            written.append("run")
            written.append("file")
        time.sleep(5)
    assert written == ["run", "file"]


def test_ray_tunes_sigint_handler_does_not_outlive_the_fit(own_handlers, ray_local, tmp_path):
    from ray import tune

    def trainable(config):
        tune.report({"x": 1.0})

    with sigint_kept():
        tune.Tuner(trainable, run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0)).fit()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_stop_during_the_dataset_check_ends_it_at_once(own_handlers):
    """The image check and the cache build queue every image on a thread pool: a stop cancels what is queued
    instead of waiting for it (2,000 images of 50 ms here: 50 s of waiting)."""
    import threading

    from tunebench.data.images import map_images

    def decode(item):
        time.sleep(0.05)
        return item

    stop_signals_interrupt()
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        map_images(decode, list(range(2000)), "checking", threads=2)
    assert time.monotonic() - start < 5

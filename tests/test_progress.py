"""What a search says while it runs: the estimate's arithmetic, progress bars, durations, --quiet."""

from __future__ import annotations

import io
import time

import pytest

from tunebench import console
from tunebench.cli import main
from tunebench.console import Progress, duration
from tunebench.search.progress import Projection


def _successive_halving_epochs(trials: int, max_epochs: int, grace: int, factor: int) -> int:
    """Epochs a synchronous successive halving runs: every trial to the first rung, the best 1/factor of those to the
    next, and so on; what survives the last rung runs to max_epochs."""
    total, alive, done, rung = 0, trials, 0, grace
    while rung < max_epochs:
        total += alive * (rung - done)
        alive, done, rung = alive // factor, rung, rung * factor
    return total + alive * (max_epochs - done)


@pytest.mark.parametrize("max_epochs, grace", [(30, 1), (60, 1), (10, 2), (2, 1), (1, 1)])
def test_asha_expectation_is_what_successive_halving_runs(max_epochs, grace):
    trials = 3 ** 6  # divides evenly at every rung
    projection = Projection(trials, max_epochs, slots=2, gpus=False, asha=(grace, 3))
    expected = _successive_halving_epochs(trials, max_epochs, grace, 3) / trials
    assert projection.expected_epochs() == pytest.approx(expected)
    assert Projection(trials, max_epochs, slots=2, gpus=False).expected_epochs() == max_epochs


def test_the_estimate_of_a_long_cpu_search_suggests_a_budget():
    # the default AlexNet search on a 2-core laptop: 241 s an epoch, 16 trials x 30 epochs, two at a time
    lines = Projection(16, 30, slots=2, gpus=False, asha=(1, 3)).lines(241.0)
    assert lines[0].startswith("first epoch: 4m01s on this machine (2 trials at a time, CPU only)")
    assert "about 16h04m for 16 trials x 30 epochs" in lines[0]
    assert "with ASHA stopping the weaker trials" in lines[0]
    assert "--time-budget" in lines[1] and "--smoke" in lines[1]
    # on a GPU, or when a budget is set, no such advice
    assert len(Projection(16, 30, slots=2, gpus=True, asha=(1, 3)).lines(241.0)) == 1
    budgeted = Projection(16, 30, slots=2, gpus=False, asha=(1, 3), time_budget_s=5400, ends_at=0).lines(241.0)
    assert budgeted[1].startswith("--time-budget 1h30m: no trial starts after ")
    # a short search says nothing more than the estimate
    assert len(Projection(2, 2, slots=2, gpus=False).lines(10.0)) == 1


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (45, "45s"), (245, "4m05s"), (3600, "1h00m"), (57840, "16h04m")])
def test_durations_read_as_people_say_them(seconds, text):
    assert duration(seconds) == text


def test_progress_in_a_log_prints_only_its_closing_line_when_short(monkeypatch):
    monkeypatch.setenv(console.VERBOSITY_ENV, "normal")
    stream = io.StringIO()
    with Progress("checking images", 500, stream=stream) as bar:
        for _ in range(500):
            bar.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("checking images: 500 images in ")


def test_progress_in_a_log_says_how_far_it_got_with_rate_and_time_left(monkeypatch):
    monkeypatch.setenv(console.VERBOSITY_ENV, "normal")
    stream = io.StringIO()
    bar = Progress("trial x epoch 1", 10, "batches", interval=0.0, stream=stream, closing=False)
    bar.update()
    time.sleep(2.1)  # the time left is guessed once the rate has settled
    for _ in range(4):
        bar.update()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("trial x epoch 1: 1/10 batches (10%, ") and "left" not in lines[0]
    assert lines[-1].startswith("trial x epoch 1: 5/10 batches (50%, ")
    assert "batches/s, about " in lines[-1] and lines[-1].endswith(" left)")


def test_quiet_progress_prints_nothing(monkeypatch):
    monkeypatch.setenv(console.VERBOSITY_ENV, "quiet")
    stream = io.StringIO()
    with Progress("caching", 3, stream=stream, interval=0.0) as bar:
        for _ in range(3):
            bar.update()
    assert stream.getvalue() == ""


def test_quiet_and_verbose_exclude_each_other(capsys):
    assert main(["search", "alexnet-caltech", "--quiet", "--verbose"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("level, shown", [("normal", False), ("quiet", False), ("verbose", True)])
def test_the_libraries_warnings_show_only_with_verbose(monkeypatch, caplog, level, shown):
    import logging
    import warnings

    monkeypatch.setenv(console.VERBOSITY_ENV, level)
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))  # the filters quiet_libraries adds go after
    for name in console.LIBRARIES:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    console.quiet_libraries()
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("Token authentication is enabled", UserWarning, "token.py", 1, module="ray._private.x")
        warnings.warn_explicit("a warning of tunebench's own", UserWarning, "cache.py", 1, module="tunebench.data")
    with caplog.at_level(logging.NOTSET):
        logging.getLogger("mlflow.tracking").warning("MLflow's hint")
        logging.getLogger("ray.tune").error("Ray's error")
    assert ("Token authentication is enabled" in [str(w.message) for w in caught]) is shown
    assert "a warning of tunebench's own" in [str(w.message) for w in caught]
    assert ("MLflow's hint" in caplog.messages) is shown and "Ray's error" in caplog.messages

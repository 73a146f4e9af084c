"""What tunebench prints, and how much: `--quiet` (errors and the closing lines), the default, `--verbose` (Ray's and
MLflow's own warnings and logs, every epoch). The level lives in an environment variable, so the Ray workers a
search starts print as much as the driver does. Progress on long work is a `Progress` bar: redrawn in place on a
terminal, a line every few seconds in a log."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

VERBOSITY_ENV = "TUNEBENCH_VERBOSITY"
QUIET, NORMAL, VERBOSE = 0, 1, 2
_LEVELS = {"quiet": QUIET, "normal": NORMAL, "verbose": VERBOSE}


def set_verbosity(level: int) -> None:
    os.environ[VERBOSITY_ENV] = next(name for name, value in _LEVELS.items() if value == level)


def verbosity() -> int:
    return _LEVELS.get(os.environ.get(VERBOSITY_ENV, ""), NORMAL)


def say(line: str) -> None:
    """A line of the default output (not with --quiet)."""
    if verbosity() >= NORMAL:
        print(line, flush=True)


def closing(line: str) -> None:
    """A line even --quiet prints: where the results are."""
    print(line, flush=True)


def duration(seconds: float) -> str:
    """45s, 4m05s, 2h10m: as people say it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Progress of `total` steps with rate and ETA: a bar redrawn at most 5 times a second on a terminal; in a log
    (a file, a pipe, Ray's forwarded worker output), a line every `interval` seconds, so that short work prints
    only its closing line and long work a few. Nothing with --quiet. Use as a context manager or call close()."""

    WIDTH = 24

    def __init__(self, what: str, total: int, unit: str = "images", interval: float = 10.0,
                 stream: TextIO | None = None, closing: bool = True) -> None:
        self.what, self.total, self.unit, self.interval = what, max(total, 0), unit, interval
        self.stream = stream or sys.stdout
        self.closing = closing  # a closing line "what: N units in T (rate)" when done
        self.done = 0
        self.started = self.shown = time.monotonic()
        self.live = verbosity() >= NORMAL
        self.terminal = self.live and self.stream.isatty()
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close(finished=kind is None)

    def update(self, steps: int = 1) -> None:
        self.done += steps
        if not self.live:
            return
        now = time.monotonic()
        if now - self.shown >= (0.2 if self.terminal else self.interval) and self.done < self.total:
            self.shown = now
            self._show(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        share = self.done / self.total if self.total else 1.0
        settled = elapsed >= 2.0  # the first moments' rate (threads, workers starting) says little about the rest
        left = f", about {duration((self.total - self.done) / rate)} left" \
            if settled and rate > 0 and self.done < self.total else ""
        bar = ""
        if self.terminal:
            filled = int(share * self.WIDTH)
            bar = "|" + "#" * filled + "." * (self.WIDTH - filled) + "| "
        return (f"{self.what}: {bar}{self.done}/{self.total} {self.unit} ({share:.0%}, "
                f"{_rate(rate)} {self.unit}/s{left})")

    def _show(self, text: str) -> None:
        if self.terminal:
            self.stream.write("\r" + text + "\x1b[K")
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, finished: bool = True) -> None:
        if not self.live:
            return
        if self._drawn:
            self.stream.write("\r\x1b[K")
        if finished and self.closing:
            elapsed = time.monotonic() - self.started
            rate = f" ({_rate(self.done / elapsed)} {self.unit}/s)" if elapsed > 0 and self.done else ""
            self.stream.write(f"{self.what}: {self.done} {self.unit} in {duration(elapsed)}{rate}\n")
        self.stream.flush()
        self.live = False


def _rate(rate: float) -> str:
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.2g}"


LIBRARIES = ("ray", "mlflow", "optuna", "alembic", "urllib3", "torch", "torchvision", "sqlalchemy", "pydantic")


def library_log_level() -> int:
    """The level of the libraries' own loggers: their warnings with --verbose, else only their errors."""
    import logging

    return logging.WARNING if verbosity() >= VERBOSE else logging.ERROR


def quiet_libraries() -> None:
    """Ray's, MLflow's and Optuna's warnings and hints (log records and Python warnings) hidden unless --verbose;
    their errors still show. Called in the driver and in each Ray worker."""
    import logging
    import warnings

    if verbosity() >= VERBOSE:
        return
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(library_log_level())
    warnings.filterwarnings("ignore", module=rf"({'|'.join(LIBRARIES)})(\.|$)")

"""How tunebench stops: SIGTERM and SIGHUP exactly as Ctrl-C, whether one process gets them or its whole group.

`docker stop`, Slurm, Kubernetes and a closed terminal send SIGTERM or SIGHUP, not SIGINT, and often to every
process of the job's process group. Ray's own processes (GCS, raylet) share the driver's process group, so a
signal to the group would kill them under a driver that is still saving its records. Hence:

- `tunebench search` (and `study`) started from the command line is a small supervisor: the driver runs in a child
  process with a process group of its own (Ray's processes join that group), the supervisor turns SIGINT,
  SIGTERM and SIGHUP into one SIGINT for the driver, and the driver is killed with the supervisor when that is
  killed (SIGKILL: Linux's parent-death signal), so a kill stays a kill.
- In the driver, SIGTERM and SIGHUP do whatever SIGINT does at that moment: Python's KeyboardInterrupt, or,
  while Ray Tune runs the trials, Tune's own handler (stop the trials, save the experiment state once more).
  A second signal interrupts at once, as a second Ctrl-C does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
SUPERVISED_ENV = "TUNEBENCH_SUPERVISED"  # set in the driver a supervisor started
_PR_SET_PDEATHSIG = 1


def _as_interrupt(signum: int, frame) -> None:
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored (a background job of a script) or default: stop all the same
        raise KeyboardInterrupt


def stop_signals_interrupt() -> None:
    """Install the handlers; call again after ray.init, which puts its own SIGTERM handler in place. A signal
    ignored when the process started (SIGHUP under nohup) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    if os.environ.get(SUPERVISED_ENV) and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the supervisor decided: SIGINT stops us
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _as_interrupt)


def _die_with_parent() -> None:
    """In the driver, before it runs: SIGKILL when the supervisor dies (Linux)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):
        pass


def supervise(argv: list[str]) -> int:
    """Run `python -m tunebench ARGV` as the driver in its own process group; returns its exit code."""
    driver = subprocess.Popen([sys.executable, "-m", "tunebench", *argv],
                              env={**os.environ, SUPERVISED_ENV: "1"}, process_group=0,
                              preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)

    def forward(signum: int, frame) -> None:
        try:
            driver.send_signal(signal.SIGINT)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, *STOP_SIGNALS):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, forward)
    code = driver.wait()
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell reports it


SUPERVISED_COMMANDS = ("search", "study")  # the commands that run Ray


def should_supervise(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in SUPERVISED_COMMANDS and not os.environ.get(SUPERVISED_ENV) \
        and os.name == "posix"


@contextmanager
def deferred_signals():
    """Writes that belong together (a search's MLflow run and its file): a stop signal that arrives meanwhile
    takes effect right after them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    saved = {signum: signal.signal(signum, lambda s, f: received.append(s))
             for signum in (signal.SIGINT, *STOP_SIGNALS) if signal.getsignal(signum) not in (signal.SIG_IGN, None)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


INTERRUPTED = threading.Event()  # a stop signal reached the driver while Ray Tune ran the trials


def note_interrupts() -> None:
    """Wrap the SIGINT handler in place now (Ray Tune's, while it runs the trials) so that a stop is remembered:
    Tune ends its loop on a signal without saying so, and a grid's trials that were never created look the
    same as a search that finished."""
    current = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or getattr(current, "notes_interrupts", False):
        return

    def noted(signum: int, frame) -> None:
        INTERRUPTED.set()
        if callable(current):
            current(signum, frame)
        else:
            raise KeyboardInterrupt

    noted.notes_interrupts = True
    signal.signal(signal.SIGINT, noted)


@contextmanager
def sigint_kept():
    """Ray Tune leaves its SIGINT handler installed after a fit: a stop during the test evaluation and summary
    that follow would only set its stale flag. Put back the handler that was there before."""
    before = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread() and before is not None:
            signal.signal(signal.SIGINT, before)

"""Small helpers shared by the benchmark scripts: run a command with its output in a log file and time it,
describe the machine, and print the one "ratio against a baseline measured in the same run" line.

Nothing here knows about tunebench's internals; the scripts call the CLI as a user would.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def venv_tool(name: str) -> str:
    """A console script installed beside the running interpreter (.venv/bin/tunebench), else the bare name."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


@dataclass
class Finished:
    command: list[str]
    returncode: int
    seconds: float
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def run_logged(command: list[str], log: Path, cwd: Path = REPO, env: dict[str, str] | None = None,
               timeout: float | None = None) -> Finished:
    """Run `command` with stdout and stderr in `log`; returns its exit code and wall-clock seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        try:
            code = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, **(env or {})}, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = 124
    return Finished(command, code, time.perf_counter() - start, log)


def machine() -> str:
    """One line: CPUs (usable/total), load average, memory, torch and ray versions, GPU if any, Python, OS."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"{usable} usable CPUs of {os.cpu_count()}"]
    try:
        parts.append("load avg " + "/".join(f"{x:.1f}" for x in os.getloadavg()))
    except OSError:
        pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        parts.append(f"{pages * size / 2**30:.0f} GiB RAM")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads, {gpu})")
    except ImportError:
        parts.append("torch not installed")
    try:
        import ray

        parts.append(f"ray {ray.__version__}")
    except ImportError:
        pass
    parts.append(f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    return "machine: " + ", ".join(parts)


def ratio_line(benchmark: str, what: str, ratio: float, target: str, rest: str = "") -> str:
    """`search: ASHA+TPE needs 0.23 of the grid's epochs (target <= 0.30); coordinate 0.41`."""
    return f"{benchmark}: {what} {ratio:.2f}{' ' + target if target else ''}{'; ' + rest if rest else ''}"


def fmt_seconds(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"

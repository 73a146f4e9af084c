"""The machine a benchmark ran on, in one line (docs/benchmarks.md records it next to the figures)."""

from __future__ import annotations

import os
import platform
import time


def describe() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {gpu}, "
            f"Python {platform.python_version()}, torch {torch.__version__}")

"""Starting (or joining) Ray for a search, and where its trials and checkpoints go."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tunebench import TunebenchError
from tunebench.search.options import SearchOptions


def check_reachable(address: str, seconds: float = 5.0) -> None:
    """A TCP connect to a Ray address first: ray.init retries an unreachable one for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=seconds):
            return
    except ValueError:
        raise TunebenchError(f"--address {address}: expected auto, HOST:PORT or ray://HOST:10001") from None
    except OSError as exc:
        raise TunebenchError(f"cannot connect to Ray at {address}: {exc.strerror or exc}") from None


def storage_folder(options: SearchOptions) -> Path:
    storage = options.storage_path.expanduser().resolve()
    try:
        storage.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunebenchError(f"cannot write to --storage-path {storage}: {exc.strerror}") from None
    return storage


def new_run_folder(options: SearchOptions, default: str, marker: str, what: str) -> Path:
    """Where a new search or study goes: --name (default: `default` and the time) in --storage-path; one that holds
    a `marker` file already is refused with the command that continues it."""
    import time

    storage = storage_folder(options)
    name = options.name or f"{default}-{time.strftime('%Y%m%d-%H%M%S')}"
    if (storage / name / marker).exists():
        raise TunebenchError(f"a {what} named '{name}' exists in {storage}: continue it with --resume --name {name}")
    return storage / name


def init_ray(options: SearchOptions) -> tuple[float, float]:
    """Start (or join) Ray; returns (cpus, gpus) per trial, checked against what the cluster has. Stop signals are
    tunebench's again afterwards (ray.init puts its own SIGTERM handler in place), and no stop is pending."""
    import ray

    from tunebench.console import library_log_level, quiet_libraries
    from tunebench.signals import INTERRUPTED, stop_signals_interrupt

    if not ray.is_initialized():
        try:
            # "local": a new Ray of this search's own, not whichever `ray start` cluster runs on the machine
            ray.init(address=options.address or "local", include_dashboard=False if not options.address else None,
                     configure_logging=True, logging_level=library_log_level(),
                     logging_config=ray.LoggingConfig(log_level=logging.getLevelName(library_log_level())))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise TunebenchError(f"cannot connect to Ray at {options.address}: "
                                 f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
                                 ) from None
    available_gpus = ray.cluster_resources().get("GPU", 0)
    gpus = options.gpus_per_trial if options.gpus_per_trial is not None else (1.0 if available_gpus else 0.0)
    if gpus > 0 and available_gpus == 0:
        raise TunebenchError(f"--gpus-per-trial {gpus}: the Ray cluster has no GPUs (use --gpus-per-trial 0)")
    if gpus > available_gpus:
        raise TunebenchError(f"--gpus-per-trial {gpus}: more than the {available_gpus:g} GPUs the cluster has")
    if options.cpus_per_trial > ray.cluster_resources().get("CPU", 0):
        raise TunebenchError(f"--cpus-per-trial {options.cpus_per_trial:g}: more than the cluster's CPUs")
    _tune_environment()
    quiet_libraries()  # ray.init configured Ray's loggers again
    stop_signals_interrupt()
    INTERRUPTED.clear()
    return options.cpus_per_trial, gpus


def _tune_environment() -> None:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Ray Tune's classic output: with verbose=0, none at all
    # a snapshot after every checkpoint is what num_to_keep=1 asks for, and cheap on local disk
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

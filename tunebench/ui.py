"""`tunebench ui`: MLflow's UI on a tracking store, served in its own process group and stopped with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tunebench import TunebenchError
from tunebench.tracking import Tracker


def serve(tracking_uri: str, host: str, port: int, workers: int = 1) -> int:
    """The MLflow UI on the store until Ctrl-C (or SIGTERM/SIGHUP); returns the exit code."""
    if tracking_uri.startswith(("http://", "https://")):
        print(f"{tracking_uri} is an MLflow server: open it in a browser")
        return 0
    Tracker(tracking_uri)  # a one-line error for an unusable store, before starting a server
    _check_port_free(host, port)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri,
               "--host", host, "--port", str(port), "--workers", str(workers)]
    print(f"MLflow UI on {tracking_uri}: http://{host}:{port}  (Ctrl-C stops it)", flush=True)
    server = subprocess.Popen(command, start_new_session=True)  # its uvicorn workers and job runners: one group
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP
        return 0
    finally:
        _stop_group(server)


def _stop_group(process) -> None:
    """SIGTERM to a process and everything it started in its group; SIGKILL to what is left of the group after 10 s.

    The group outlives its leader for a moment (uvicorn workers finish their shutdown after `mlflow ui` exits), so it
    is the group, not the leader, that is waited for: nothing keeps listening on the port after `tunebench ui` ends.
    """
    group = process.pid
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(group):
                return
            time.sleep(0.1)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: closed connections don't count
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TunebenchError(f"cannot serve the UI on {host}:{port}: {exc.strerror} (choose another --port)") \
                from None

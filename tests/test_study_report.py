"""`tunebench compare`, `report` and `ui` against real MLflow: a real `mlflow server` process over HTTP."""

from __future__ import annotations

import errno
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.conftest import free_port
from tests.fixture_data import build_cifar_batches
from tunebench.cli import main

REPORT_PLOTS = {"learning_curves.png", "parallel_coordinates.png", "slices.png", "best_so_far.png",
                "confusion_matrix.png", "per_class.png"}  # an optuna search of 2 trials: slices, no importance


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}"
    finally:  # the server's uvicorn workers and job consumers too, not only `mlflow server` itself
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        time.sleep(1)
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever outlived the SIGTERM
        except ProcessLookupError:
            pass


def _png_ok(path: Path) -> None:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= 300 and image.height >= 200, path.name
    assert path.stat().st_size > 5_000, path.name


@pytest.mark.slow
def test_compare_and_report_read_a_real_server(ray_local, in_tmp, mlflow_server, caltech_session_tree, capsys):
    cifar = build_cifar_batches(in_tmp / "cifar")
    for name, data in (("alexnet-caltech", caltech_session_tree), ("featx-cifar5", cifar)):
        assert main(["search", name, "--smoke", "--data-dir", str(data), "--tracking-uri", mlflow_server,
                     "--storage-path", str(in_tmp / "ray")]) == 0
    capsys.readouterr()

    code, err = _error(capsys, ["compare", "--tracking-uri", mlflow_server])  # smoke runs mean nothing: left out
    assert code == 2 and "only smoke searches in" in err and "(2; --include-smoke shows them)" in err
    assert main(["compare", "--tracking-uri", mlflow_server, "--format", "csv", "--include-smoke"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert sorted(table["benchmark"]) == ["alexnet-caltech", "featx-cifar5"]
    # smoke runs (small images, random weights) are no configuration the reports ran
    assert (table["report row"] == "no matching report row").all() and table["test - report"].isna().all()
    client = MlflowClient(mlflow_server)
    for _, row in table.iterrows():
        experiment = client.get_experiment_by_name(row["benchmark"])
        runs = client.search_runs([experiment.experiment_id])
        children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
        assert row["trials"] == len(children) == 2
        assert row["best_val_acc"] == pytest.approx(max(r.data.metrics["best_val_acc"] for r in children))
        histories = [m.value for r in children for m in client.get_metric_history(r.info.run_id, "val_acc")]
        assert row["best_val_acc"] == pytest.approx(max(histories))

    assert main(["compare", "alexnet-caltech", "--tracking-uri", mlflow_server, "--format", "markdown",
                 "--include-smoke", "--output", str(in_tmp / "compare.md")]) == 0
    rows = [line for line in (in_tmp / "compare.md").read_text().splitlines()[2:] if line.startswith("|")]
    assert len(rows) == 1 and rows[0].split("|")[1].strip() == "alexnet-caltech"

    assert main(["report", "alexnet-caltech", "--tracking-uri", mlflow_server, "--output", str(in_tmp / "rep")]) == 0
    folder = in_tmp / "rep"
    assert REPORT_PLOTS <= {p.name for p in folder.glob("*.png")}
    for png in folder.glob("*.png"):
        _png_ok(png)
    markdown = (folder / "report.md").read_text()
    assert "## Slices" in markdown and "![learning_curves](learning_curves.png)" in markdown
    assert "## One factor" not in markdown and "Too few trials for importance: 2 finished" in markdown
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(list(folder.glob("*.png")))
    [parent] = [r for r in client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
                if "mlflow.parentRunId" not in r.data.tags]
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/report.md", "report/report.html", "report/learning_curves.png"} <= logged


def _error(capsys, argv) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return code, err[0]


def test_bad_input_is_one_line(capsys, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    code, err = _error(capsys, ["compare", "nope", "--tracking-uri", empty])
    assert code == 2 and "unknown benchmark 'nope'" in err
    code, err = _error(capsys, ["compare", "--tracking-uri", empty])
    assert code == 2 and "no searches" in err
    code, err = _error(capsys, ["report", "alexnet-caltech", "--tracking-uri", empty])
    assert code == 2 and "no searches of alexnet-caltech" in err
    started = time.time()
    code, err = _error(capsys, ["compare", "--tracking-uri", f"http://127.0.0.1:{free_port()}"])
    assert code == 2 and "cannot use MLflow tracking store" in err and time.time() - started < 60


@pytest.mark.slow
def test_report_of_a_run_id_that_does_not_exist(ray_local, in_tmp, tracking_uri, caltech_session_tree, capsys):
    assert main(["search", "alexnet-caltech", "--smoke", "--data-dir", str(caltech_session_tree), "--tracking-uri",
                 tracking_uri, "--storage-path", str(in_tmp / "ray"), "--num-samples", "1", "--max-epochs", "1"]) == 0
    capsys.readouterr()
    code, err = _error(capsys, ["report", "alexnet-caltech", "--search", "0123abcd", "--tracking-uri", tracking_uri])
    assert code == 2 and "no search with run id 0123abcd" in err


@pytest.mark.slow
def test_ui_serves_the_store(tmp_path):
    port = free_port()
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    MlflowClient(uri).create_experiment("alexnet-caltech")
    process = subprocess.Popen([sys.executable, "-m", "tunebench", "ui", "--tracking-uri", uri, "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}" in process.stdout.readline()
        _wait_for(f"http://127.0.0.1:{port}/", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=10",
                                    timeout=5) as response:
            assert b"alexnet-caltech" in response.read()
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C; the server's workers go with it
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in err, err
    with socket.socket() as probe:  # nothing of the server is left listening
        assert probe.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


@pytest.mark.slow
def test_report_of_a_real_grid_search_has_one_factor_plots(ray_local, in_tmp, tracking_uri, caltech_session_tree,
                                                           capsys):
    """A grid of two keys: each key's one-factor table and plot over the grid's row through the best trial (the
    other key held), no slice plot; the per-class table's accuracy row counts the test images."""
    assert main(["search", "alexnet-caltech", "--smoke", "--search", "grid", "--set", "lr=0.001,0.1",
                 "step_size=5,10", "gamma=0.1", "weight_decay=5e-5", "--max-epochs", "1", "--data-dir",
                 str(caltech_session_tree), "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")]) == 0
    assert main(["report", "alexnet-caltech", "--tracking-uri", tracking_uri, "--output", str(in_tmp / "rep")]) == 0
    capsys.readouterr()
    folder = in_tmp / "rep"
    pngs = {p.name for p in folder.glob("*.png")}
    assert {"one_factor_lr.png", "one_factor_step_size.png"} <= pngs and "slices.png" not in pngs
    markdown = (folder / "report.md").read_text()
    assert "only lr varied (the others held at step_size=" in markdown
    assert "only step_size varied (the others held at lr=" in markdown
    assert "Too few trials for importance: 4 finished" in markdown
    client = MlflowClient(tracking_uri)
    [parent] = [r for r in client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
                if "mlflow.parentRunId" not in r.data.tags]
    predictions = Path(client.download_artifacts(parent.info.run_id, "test_predictions.csv", str(in_tmp)))
    accuracy = next(line for line in markdown.splitlines() if line.startswith("| accuracy "))
    assert accuracy.split("|")[-2].strip() == str(len(pd.read_csv(predictions)))

"""`tunebench study NAME --smoke` end to end for every shipped study: a real local Ray, a real SQLite MLflow store, the
real sample data (artworks on generated images in the real layout). Every table is written with the report's rows,
each with validation and test figures and the report's own figures beside it; one MLflow run per configuration,
nested under the study's run; an interrupted study resumes without rerunning finished rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from search_spaces import BENCHMARKS
from search_spaces.studies import STUDIES
from tests.conftest import SHARED_CALTECH, SHARED_DATA
from tests.fixture_data import build_artworks_tree
from tunebench.cli import main
from tunebench.study import config_key, row_config


def _data(name: str, tmp_path_factory) -> Path:
    if name == "resnet50-artworks":
        return build_artworks_tree(tmp_path_factory.mktemp("artworks"), images_per_painter=4)
    folder = {"alexnet-caltech": SHARED_CALTECH, "cnn-catsdogs": SHARED_DATA / "dogs-vs-cats"}.get(name, SHARED_DATA)
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    return folder


def _figure_equal(ours, declared) -> bool:
    return (pd.isna(ours) and declared is None) or ours == declared


def check_tables(name: str, output: Path) -> dict[str, pd.DataFrame]:
    """Every table of the study as a CSV: the report's rows in order, val and test filled, the report's figures
    beside their rows."""
    study = STUDIES[name]
    tables = {}
    for table in study.tables:
        frame = pd.read_csv(output / f"{table.id}.csv")
        assert list(frame["row"]) == [row.label for row in table.rows], table.id
        assert frame["val_acc"].notna().all() and frame["test_acc"].notna().all(), (table.id, frame.to_string())
        if name == "featx-cifar5":  # an SVM has no loss and no epoch time: no empty columns for them
            assert not {"val_loss", "test_loss", "epoch_seconds"} & set(frame), table.id
        else:
            assert frame["test_loss"].notna().all(), table.id
        for figure in table.figures():
            if figure == "confusion":
                continue
            column = frame[f"report {figure}"]
            assert all(_figure_equal(ours, row.report.get(figure)) for ours, row in zip(column, table.rows)), \
                (table.id, figure)
        assert (output / f"{table.id}.md").read_text().startswith(f"## {table.id}: ")
        tables[table.id] = frame
    page = (output / "study.md").read_text()
    assert all(f"## {table.id}: " in page for table in study.tables) and (output / "study.html").is_file()
    return tables


def check_runs(name: str, tracking_uri: str) -> tuple[object, list]:
    """One parent run, FINISHED, with one nested run per distinct configuration, none left RUNNING."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(f"study {name}")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED" and parents[0].data.tags["study"] == name
    rows = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert rows and all(r.info.status == "FINISHED" for r in rows)
    assert all("test_acc" in r.data.metrics for r in rows)
    labels = [label for r in rows for label in r.data.tags["study_rows"].split("; ")]
    rows_run = [label for label in labels if not label.endswith(" search")]  # a search table's trials share one
    assert len(rows_run) == len(set(rows_run))  # a row is one run's
    logged = {a.path for a in client.list_artifacts(parents[0].info.run_id, "study")}
    assert "study/study.md" in logged
    return parents[0], rows


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STUDIES))
def test_smoke_study_writes_every_table(name, ray_local, in_tmp, tracking_uri, tmp_path_factory, capsys):
    data = _data(name, tmp_path_factory)
    output = in_tmp / "tables"
    log_models = ["--log-models"] if name == "cnn-cifar10" else []
    code = main(["study", name, "--smoke", "--data-dir", str(data), "--tracking-uri", tracking_uri,
                 "--storage-path", str(in_tmp / "ray"), "--output", str(output), *log_models])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    tables = check_tables(name, output)
    _, runs = check_runs(name, tracking_uri)
    study = STUDIES[name]
    assert f"tables: {output / 'study.md'}" in out and all(f"{t.id}: " in out for t in study.tables)

    if name == "alexnet-caltech":
        t33 = tables["T3.3"]  # the report's 0.09 / 0.31 / 0.40 beside lr 1e-3 / 1e-2 / 1e-1
        assert list(zip(t33["lr"], t33["report val_acc"])) == [(1e-3, 0.09), (1e-2, 0.31), (1e-1, 0.40)]
        assert (t33["val_acc - report"] == t33["val_acc"] - t33["report val_acc"]).all()
        # T3.7's lr 1e-1 row is T3.3's run, scored once: the same figures in both tables
        assert tables["T3.7"]["test_acc"][0] == t33["test_acc"][2]
        # keep-the-best: T3.5 ran at T3.4's winning step size (its carried value is a column of the table)
        best_step = tables["T3.4"].sort_values("val_acc", ascending=False, kind="stable")["step_size"].iloc[0]
        assert list(tables["T3.5"]["step_size"]) == [best_step] * 3
    if name == "cnn-catsdogs":
        assert tables["T4.13"][["stage1_test_acc", "stage2_test_acc"]].notna().all().all()  # after each stage
        assert "least confident test images" in (in_tmp / "tables" / "study.md").read_text()
        # a confusion matrix per row, and beside it the report's where the report gives the whole matrix
        assert len(list(output.glob("T4.14-??-confusion.png"))) == 4
        assert len(list(output.glob("T4.14-??-report-confusion.png"))) == 3
        assert tables["T4.6"]["report val_acc"][0] == pytest.approx(0.8162, abs=1e-4)
    if log_models:  # every row's model on its run, loaded with MLflow's own client
        import mlflow
        import mlflow.pytorch
        import torch

        mlflow.set_tracking_uri(tracking_uri)
        for run in runs:
            uri = run.data.tags["model_uri"]
            assert uri == f"runs:/{run.info.run_id}/model"
            metadata = mlflow.models.get_model_info(uri).metadata
            size = metadata["preprocessing"]["image_size"]  # the CNN's 32 px, the inception's 75 px in smoke
            assert len(metadata["classes"]) == 10
            assert mlflow.pytorch.load_model(uri)(torch.rand(3, 3, size, size)).shape == (3, 10)
    if name == "featx-cifar5":  # each cut's features extracted once, cached for the SVM
        cached = list(Path(os.environ["TUNEBENCH_CACHE"], "features").glob("*.npy"))
        assert {p.name.split("-")[1] for p in cached} >= {"train", "val", "test"}
        assert all(r.data.metrics["feature_dim"] > 0 for r in runs)
    # one run per distinct configuration (a search table: one per trial)
    distinct = {config_key(row_config(BENCHMARKS[row.benchmark or t.benchmark], t, row, smoke=study.smoke))
                for t in study.tables if not t.search and not t.carry for row in t.rows}
    assert len(runs) >= len(distinct)


@pytest.mark.slow
def test_an_interrupted_study_resumes_without_rerunning_finished_rows(tmp_path):
    if not (SHARED_DATA / "cifar-10-batches-py").is_dir():
        pytest.skip("../shared/data/cifar-10-batches-py not present")
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    command = [sys.executable, "-m", "tunebench", "study", "cnn-cifar10", "--smoke", "--data-dir", str(SHARED_DATA),
               "--tracking-uri", uri, "--storage-path", str(tmp_path / "ray"), "--name", "cut",
               "--output", str(tmp_path / "tables")]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not list((tmp_path / "ray" / "cut").glob("*/rows.json")) and time.time() < deadline \
            and process.poll() is None:
        time.sleep(0.5)
    assert process.poll() is None, process.communicate()[1][-2000:]
    first = next((tmp_path / "ray" / "cut").glob("*/rows.json"))
    finished = first.stat().st_mtime_ns
    process.send_signal(signal.SIGINT)  # the first part is done, the second loading or training
    _, err = process.communicate(timeout=180)
    assert process.returncode == 130, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert "interrupted" in last and "tunebench study cnn-cifar10 --resume --name cut" in last
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("study cnn-cifar10")
    assert all(r.info.status != "RUNNING" for r in client.search_runs([experiment.experiment_id]))

    resumed = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming study cut" in resumed.stdout
    assert first.stat().st_mtime_ns == finished  # the finished part was not run again
    check_tables("cnn-cifar10", tmp_path / "tables")
    _, runs = check_runs("cnn-cifar10", uri)
    assert len(runs) == 2  # one run per row: the interrupted row's run continued, none duplicated

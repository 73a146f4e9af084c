"""`tunebench search NAME --smoke` for report 004's benchmarks, on fixture data in the real formats: a real local
Ray, a real SQLite MLflow store, nested runs, results table, test-split evaluation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.fixture_data import build_artworks_tree, build_cifar_batches, build_dogs_vs_cats
from tunebench.cli import main

DATA = {"artworks": build_artworks_tree, "cifar": build_cifar_batches, "dogs-vs-cats": build_dogs_vs_cats}
# the other benchmarks of reports 000-002 search as these do; their trainers run end to end in the studies'
# smoke tests (tests/test_study_smoke.py). These two keep what only a search of theirs shows: three executions
# per configuration and a corrupt JPEG named (cnn-catsdogs), the stage boundary in the curves (transfer-catsdogs).
BENCHMARK_DATA = {"cnn-catsdogs": "dogs-vs-cats", "transfer-catsdogs": "dogs-vs-cats"}


@pytest.fixture(scope="session")
def fixture_data(tmp_path_factory):
    built: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in built:
            built[kind] = DATA[kind](tmp_path_factory.mktemp(kind))
        return built[kind]
    return get


def _search(name: str, data_dir: Path, tmp: Path, tracking_uri: str, capsys):
    """Exit code and what the search printed: out (tables, results) and err (warnings, errors)."""
    code = main(["search", name, "--smoke", "--data-dir", str(data_dir), "--tracking-uri", tracking_uri,
                 "--storage-path", str(tmp / "ray"), "--name", "smoke"])
    return code, capsys.readouterr()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BENCHMARK_DATA))
def test_smoke_search(name, ray_local, in_tmp, tracking_uri, fixture_data, capsys):
    code, printed = _search(name, fixture_data(BENCHMARK_DATA[name]), in_tmp, tracking_uri, capsys)
    out = printed.out
    assert code == 0, printed.err[-3000:]
    assert "Trials (best first)" in out and "test: " in out and "macro F1" in out

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name(name).experiment_id])
    [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and parent.data.tags["benchmark"] == name
    assert len(children) == parent.data.metrics["trials"] == 2
    assert {"test_acc", "test_macro_recall", "test_macro_f1"} <= set(parent.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.csv", "test_predictions.csv", "test_classification_report.csv"} <= artifacts
    report = pd.read_csv(in_tmp / "ray" / "smoke" / "test_classification_report.csv")
    assert {"precision", "recall", "f1-score", "support"} <= set(report) and "macro avg" in set(report["class"])

    for child in children:
        assert child.info.status == "FINISHED"
        epochs = int(child.data.tags["epochs_run"])
        assert len(client.get_metric_history(child.info.run_id, "val_acc")) == epochs >= 1
        assert len(client.get_metric_history(child.info.run_id, "val_macro_f1")) == epochs
        STUDY_CHECKS.get(name, lambda *_: None)(client, child, printed)


def _history(client, run, metric) -> list[float]:
    return [m.value for m in sorted(client.get_metric_history(run.info.run_id, metric), key=lambda m: m.step)]


def _three_executions(client, child, printed):
    # --smoke checks only the images it uses: the corrupt JPEG among those it leaves out is neither opened nor named
    assert "cat.666.jpg" not in printed.err and "cat.666.jpg" not in printed.out
    assert {f"val_acc_execution_{i}" for i in range(3)} <= set(child.data.metrics)


def _stage_boundary(client, child, printed):
    trainable = _history(client, child, "trainable_params")
    assert _history(client, child, "stage") == [1, 2] and trainable[1] > trainable[0]


STUDY_CHECKS = {"cnn-catsdogs": _three_executions, "transfer-catsdogs": _stage_boundary}

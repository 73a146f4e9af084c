"""Searches on a user's own images: `tunebench search BENCHMARK --dataset folder` (any recipe on class folders),
cnn-catsdogs on a Keras-style cats/dogs tree, and `tunebench compare` / `report` by the name of a search-space
file's search. A real local Ray, a real SQLite MLflow store, real JPEG files."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.fixture_data import SHARED_DOGS_VS_CATS, build_keras_cats_and_dogs
from tests.test_folder_dataset import build_flat
from tunebench.cli import main

THREE = {"golden retriever": (200, 150, 60), "café crème": (40, 160, 40), "猫": (60, 110, 200)}
QUICK = ["--smoke", "--num-samples", "1", "--max-epochs", "1"]


@pytest.fixture
def reader_env(monkeypatch):
    """What compare/report set for themselves, restored after the test (they set it process-wide)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory) -> Path:
    return build_flat(tmp_path_factory.mktemp("own") / "images", per_class=10, classes=THREE)


def _parent(uri: str, experiment: str):
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    return client, parents[0]


def _compare(capsys, *argv: str) -> pd.DataFrame:
    assert main(["compare", *argv, "--include-smoke", "--format", "csv"]) == 0, capsys.readouterr().err
    return pd.read_csv(io.StringIO(capsys.readouterr().out))


BCE_SPACE = """from dataclasses import replace
from search_spaces import BENCHMARKS
BENCHMARK = replace(BENCHMARKS["cnn-catsdogs"], name="my-bce", dataset="folder", reference=())
"""


@pytest.mark.parametrize("how", ["--dataset", "search-space-file"])
def test_a_bce_recipe_on_three_classes_is_refused_before_anything_starts(capsys, tmp_path, three_classes, how):
    space = tmp_path / "my_bce.py"
    space.write_text(BCE_SPACE)
    target = ["cnn-catsdogs", "--dataset", "folder"] if how == "--dataset" else [str(space)]
    code = main(["search", *target, "--data-dir", str(three_classes), *QUICK,
                 "--storage-path", str(tmp_path / "ray"), "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}"])
    err = capsys.readouterr().err
    name = "cnn-catsdogs" if how == "--dataset" else "my-bce"
    assert code == 2 and err.strip().splitlines() == [
        f"tunebench: error: {name} trains with loss=bce (one sigmoid output), which needs exactly two classes; "
        f"{three_classes} has 3 (café crème, golden retriever, 猫): add --set loss=cross_entropy"], err
    assert not (tmp_path / "ray").exists() and not (tmp_path / "mlruns.db").exists()


@pytest.mark.slow
def test_any_recipe_on_a_users_class_folders(ray_local, in_tmp, tracking_uri, three_classes, capsys, reader_env):
    """cnn-cifar10's recipe on three class folders: the output layer has three classes, the split is the one set,
    the parent run records the dataset, and no report row is matched (the report never saw these images)."""
    code = main(["search", "cnn-cifar10", "--dataset", "folder", "--data-dir", str(three_classes), *QUICK,
                 "--set", "split=60/20/20", "--name", "own", "--tracking-uri", tracking_uri,
                 "--storage-path", str(in_tmp / "ray")])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert "folder: 3 classes, {'train': 18, 'val': 6, 'test': 6} (stratified 60/20/20 (seed 0))" in out
    assert "report: none (no report ran cnn-cifar10 on folder)" in out

    client, parent = _parent(tracking_uri, "cnn-cifar10")
    assert parent.info.status == "FINISHED" and parent.data.tags["benchmark"] == "cnn-cifar10"
    assert (parent.data.tags["dataset"], parent.data.tags["metric"], parent.data.tags["mode"]) == (
        "folder", "val_acc", "max")
    assert parent.data.params["split"] == "60/20/20"
    predictions = pd.read_csv(client.download_artifacts(parent.info.run_id, "test_predictions.csv", str(in_tmp)))
    assert len(predictions) == 6 and set(predictions["true"]) == set(THREE)  # three outputs, named by the folders
    assert {f"p({name})" for name in THREE} <= set(predictions)

    table = _compare(capsys, "cnn-cifar10", "--tracking-uri", tracking_uri)
    assert table.loc[0, "dataset"] == "folder" and table.loc[0, "report row"] == "none: ran on folder, not cifar10"
    assert pd.isna(table.loc[0, "report figure"])
    assert main(["report", "cnn-cifar10", "--output", str(in_tmp / "report"), "--tracking-uri", tracking_uri]) == 0
    assert "| report row           | no matching report row" in (in_tmp / "report" / "report.md").read_text()


@pytest.mark.slow
def test_cnn_catsdogs_on_a_keras_style_tree_of_real_images(ray_local, in_tmp, tracking_uri, capsys):
    """Dogs vs Cats as Keras' flow_from_directory reads it: train/ and validation/ of cats/ and dogs/, the test
    split carved out of train/."""
    if not (SHARED_DOGS_VS_CATS / "train").is_dir():
        pytest.skip("../shared/data/dogs-vs-cats not present")
    data = build_keras_cats_and_dogs(in_tmp / "cats_and_dogs", per_label=14)
    code = main(["search", "cnn-catsdogs", "--data-dir", str(data), *QUICK, "--name", "keras",
                 "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert ("dogs-vs-cats: 2 classes, {'train': 16, 'val': 8, 'test': 2} (train/ and validation/ as given; "
            "test: 10% of train/ (stratified, seed 0))") in out  # --smoke: at most 8 per class and split
    client, parent = _parent(tracking_uri, "cnn-catsdogs")
    assert parent.info.status == "FINISHED" and parent.data.tags["dataset"] == "dogs-vs-cats"
    predictions = pd.read_csv(client.download_artifacts(parent.info.run_id, "test_predictions.csv", str(in_tmp)))
    assert set(predictions["true"]) == {"cat", "dog"}


SPACE = """from dataclasses import replace
from search_spaces import BENCHMARKS

# my own flower photos, with cnn-cifar10's recipe, judged by the validation loss
BENCHMARK = replace(BENCHMARKS["cnn-cifar10"], name="my-flowers", dataset="folder", reference=(), metric="val_loss",
                    mode="min", description="cnn-cifar10's recipe on my flowers")
"""


@pytest.mark.slow
def test_compare_and_report_by_the_name_of_a_search_space_files_search(ray_local, in_tmp, tracking_uri,
                                                                       three_classes, capsys, reader_env):
    space = in_tmp / "my_flowers.py"
    space.write_text(SPACE)
    code = main(["search", str(space), "--data-dir", str(three_classes), *QUICK, "--tracking-uri", tracking_uri,
                 "--storage-path", str(in_tmp / "ray")])
    assert code == 0, capsys.readouterr().err[-3000:]
    capsys.readouterr()

    for name in ("my-flowers", str(space)):  # the search's name, or the file as before
        table = _compare(capsys, name, "--tracking-uri", tracking_uri)
        assert len(table) == 1 and table.loc[0, "benchmark"] == "my-flowers"
        assert (table.loc[0, "dataset"], table.loc[0, "metric"]) == ("folder", "val_loss")
        assert table.loc[0, "report row"] == "no matching report row" and table.loc[0, "best_metric"] > 0

    assert main(["report", "my-flowers", "--output", str(in_tmp / "report"), "--tracking-uri", tracking_uri]) == 0
    assert "report: " in capsys.readouterr().out
    report = (in_tmp / "report" / "report.md").read_text()
    assert report.startswith("# my-flowers: ") and "| metric               | val_loss (min)" in report
    assert "best val_loss" in report and "Confusion matrix" in report and "猫" in report
    assert (in_tmp / "report" / "report.html").is_file()
    assert main(["report", str(space), "--output", str(in_tmp / "by-file"), "--tracking-uri", tracking_uri]) == 0
    assert "| metric               | val_loss (min)" in (in_tmp / "by-file" / "report.md").read_text()
    capsys.readouterr()

    code = main(["report", "my-flower", "--tracking-uri", tracking_uri])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert (f"tunebench: error: unknown benchmark 'my-flower': no shipped benchmark, search-space file or search in "
            f"{tracking_uri} has that name (known: alexnet-caltech,") in err
    assert err.strip().endswith("; searches in the store: my-flowers)")

"""The best model out of a search: logged on the search's MLflow run, loaded back with MLflow's own client,
registered, used by `tunebench predict`; finished trials keep one weights-only checkpoint."""

from __future__ import annotations

import shutil
import textwrap

import mlflow
import mlflow.pytorch
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from tunebench.cli import main
from tunebench.data.images import load_rgb
from tunebench.data.transforms import preprocessing_transform, resize_side
from tunebench.train import Classifier, Objective

SPACE = """
from ray import tune
from tunebench.benchmark import Benchmark

BENCHMARK = Benchmark(
    name="tiny-caltech", seed_report="none", dataset="caltech101", model="tiny-cnn", max_epochs=2,
    defaults=dict(lr=0.05, optimizer="sgd", image_size=32, resize="square", batch_size=8, weights="none"),
    space=dict(lr=tune.loguniform(0.01, 0.1)),
)
"""


@pytest.fixture(scope="module")
def searched(tmp_path_factory, ray_local, caltech_session_tree):
    """One finished search of a tiny CNN on the Caltech101 fixture, its model registered."""
    root = tmp_path_factory.mktemp("model-out")
    space = root / "tiny_caltech.py"
    space.write_text(textwrap.dedent(SPACE))
    uri = f"sqlite:///{root / 'mlruns.db'}"
    code = main(["search", str(space), "--num-samples", "2", "--data-dir", str(caltech_session_tree),
                 "--tracking-uri", uri, "--storage-path", str(root / "ray"), "--name", "tiny",
                 "--register-model", "tiny-caltech-best"])
    assert code == 0
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny-caltech")
    parent = next(r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" not in r.data.tags)
    return {"root": root, "uri": uri, "parent": parent, "folder": root / "ray" / "tiny"}


def test_the_best_model_loads_with_mlflow_and_predicts_what_the_test_evaluation_did(searched):
    parent, uri = searched["parent"], searched["uri"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["model_uri"] == f"runs:/{parent.info.run_id}/model"
    mlflow.set_tracking_uri(uri)
    model_uri = f"runs:/{parent.info.run_id}/model"
    model = mlflow.pytorch.load_model(model_uri)
    info = mlflow.models.get_model_info(model_uri)
    assert info.metadata["classes"] == ["Faces", "airplanes", "ant"]
    steps = info.metadata["preprocessing"]
    assert (steps["image_size"], steps["resize"], steps["color"], steps["normalize"]) == (32, "square", "rgb", "scratch")
    assert steps["mean"] == [0.5, 0.5, 0.5]
    assert info.signature.inputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, 3, 32, 32)

    # a batch shaped like its input example: each class's probability
    example = torch.zeros(5, 3, 32, 32)
    probabilities = model(example)
    assert probabilities.shape == (5, 3)
    assert torch.allclose(probabilities.sum(1), torch.ones(5), atol=1e-5)

    # the test split, preprocessed as the metadata says: the classes the test evaluation predicted
    evaluated = pd.read_csv(searched["folder"] / "test_predictions.csv")
    transform = preprocessing_transform(steps)
    images = torch.stack([transform(load_rgb(f, resize_side(32))) for f in evaluated["file"]])
    with torch.inference_mode():
        predicted = model(images).argmax(1)
    assert [info.metadata["classes"][i] for i in predicted] == list(evaluated["predicted"])


def test_the_model_is_registered_under_the_name_asked(searched):
    client = MlflowClient(searched["uri"])
    versions = client.search_model_versions("name='tiny-caltech-best'")
    assert len(versions) == 1 and versions[0].run_id == searched["parent"].info.run_id
    mlflow.set_tracking_uri(searched["uri"])
    assert mlflow.pytorch.load_model("models:/tiny-caltech-best/1")(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


def test_a_finished_trial_keeps_one_checkpoint_with_the_weights_only(searched):
    trials = sorted(searched["folder"].glob("trial_*"))
    assert len(trials) == 2
    for trial in trials:
        checkpoints = list(trial.glob("checkpoint_*"))
        assert len(checkpoints) == 1, checkpoints  # 2 epochs: the other checkpoint is gone
        saved = torch.load(checkpoints[0] / "state.pt", weights_only=False)
        assert saved["weights_only"] and len(saved["executions"]) == 1
        assert set(saved["executions"][0]) == {"model", "epoch", "stage", "early_stopping"}


def test_predict_writes_every_readable_image_and_reports_the_corrupt_one(searched, tmp_path, caltech_session_tree,
                                                                          capsys):
    images = tmp_path / "to classify"
    shutil.copytree(caltech_session_tree / "101_ObjectCategories" / "ant", images / "ants")
    (images / "ants" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    single = caltech_session_tree / "101_ObjectCategories" / "airplanes" / "image_0001.jpg"
    output = tmp_path / "predictions.csv"
    code = main(["predict", "tiny-caltech", str(images), str(single), "--output", str(output),
                 "--tracking-uri", searched["uri"]])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "broken.jpg" in err and "skipped" in err
    table = pd.read_csv(output)
    readable = [p for p in (images / "ants").iterdir() if p.name != "broken.jpg" and p.name != "notes.txt"]
    assert len(table) == len(readable) + 1 and str(single) in set(table["file"])
    assert list(table.columns) == ["file", "predicted", "confidence", "p(Faces)", "p(airplanes)", "p(ant)"]
    assert (table.filter(like="p(").sum(axis=1) - 1).abs().max() < 1e-5
    assert (table.filter(like="p(").max(axis=1) == table["confidence"]).all()
    assert f"{len(table)} predictions" in out

    # by run id: the same model
    again = tmp_path / "again.csv"
    assert main(["predict", searched["parent"].info.run_id, str(single), "--output", str(again),
                 "--tracking-uri", searched["uri"]]) == 0
    assert pd.read_csv(again)["predicted"].iloc[0] == table.set_index("file").loc[str(single), "predicted"]


@pytest.mark.parametrize("arguments, message", [
    (["no-such-benchmark", "IMAGE"], "no model logged for 'no-such-benchmark'"),
    (["tiny-caltech", "missing.jpg"], "missing.jpg: no such file or folder"),
])
def test_predict_errors_are_one_line(searched, tmp_path, caltech_session_tree, capsys, monkeypatch, arguments,
                                     message):
    monkeypatch.chdir(tmp_path)
    shutil.copy(caltech_session_tree / "101_ObjectCategories" / "ant" / "image_0001.jpg", tmp_path / "IMAGE")
    code = main(["predict", *arguments, "--tracking-uri", searched["uri"]])
    err = capsys.readouterr().err
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_binary_networks_classifier_gives_both_classes_probabilities():
    network = torch.nn.Linear(4, 1)
    x = torch.randn(6, 4)
    probabilities = Classifier(network, binary=True)(x)
    assert probabilities.shape == (6, 2)
    assert torch.equal(probabilities.argmax(1), Objective(binary=True).predict(network(x)))

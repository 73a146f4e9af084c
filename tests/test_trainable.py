"""The Tune Trainable: one epoch per step, and a checkpoint that resumes the whole training state."""

from __future__ import annotations

import pytest
import torch
from ray import tune

from search_spaces import BENCHMARKS
from tunebench.data import build_dataset
from tunebench.trainable import TrialTrainable, evaluate_checkpoint


def _config(**overrides):
    config = {**BENCHMARKS["alexnet-caltech"].defaults, "model": "tiny-cnn", "epochs": 4, "seed": 0,
              "image_size": 32, "batch_size": 8, "lr": 0.05, "step_size": 1, "gamma": 0.5}
    return {**config, **overrides}


def test_checkpoint_restores_model_optimizer_schedule_and_epoch(ray_local, caltech_tree, tmp_path):
    splits = build_dataset("caltech101", caltech_tree)
    trainable_cls = tune.with_parameters(TrialTrainable, splits=splits)
    first = trainable_cls(_config())
    results = [first.train() for _ in range(2)]
    assert [r["epoch"] for r in results] == [1, 2] and [r["lr"] for r in results] == [0.05, 0.025]
    saved = first.save()

    second = trainable_cls(_config())
    second.restore(saved)
    for name, tensor in first.state.model.state_dict().items():
        torch.testing.assert_close(second.state.model.state_dict()[name], tensor, msg=name)
    momentum = first.state.optimizer.state_dict()["state"]
    assert momentum and all(torch.equal(momentum[k]["momentum_buffer"],
                                        second.state.optimizer.state_dict()["state"][k]["momentum_buffer"])
                            for k in momentum)
    resumed = second.train()
    assert resumed["epoch"] == 3 and resumed["lr"] == pytest.approx(0.0125)
    final = second.train()
    assert final["epoch"] == 4 and final["done"]
    first.stop()
    second.stop()

    test = evaluate_checkpoint(saved.checkpoint, _config(), splits)
    assert len(test["predictions"]) == len(splits.test) and 0.0 <= test["test_acc"] <= 1.0
    assert test["epoch"] == 2


def test_patience_ends_the_trial(ray_local, caltech_tree):
    splits = build_dataset("caltech101", caltech_tree)
    trainable = tune.with_parameters(TrialTrainable, splits=splits)(_config(lr=1e-9, patience=1, epochs=10))
    results = [trainable.train() for _ in range(2)]
    assert results[-1]["done"] and results[-1]["early_stop"] == 1 and results[-1]["epoch"] == 2
    trainable.stop()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trial_trains_on_the_gpu(ray_local, caltech_tree):
    splits = build_dataset("caltech101", caltech_tree)
    trainable = tune.with_parameters(TrialTrainable, splits=splits)(_config(model="alexnet", image_size=64))
    result = trainable.train()
    assert next(trainable.state.model.parameters()).is_cuda and result["images_per_s"] > 0
    trainable.stop()

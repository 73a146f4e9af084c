"""The Tune Trainable: one epoch per step, and a checkpoint that resumes the whole training state."""

from __future__ import annotations

import pytest
import torch
from ray import tune

from search_spaces import BENCHMARKS
from tunebench.data import build_dataset
from tunebench.trainable import TrialTrainable


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
    for name, tensor in first.states[0].model.state_dict().items():
        torch.testing.assert_close(second.states[0].model.state_dict()[name], tensor, msg=name)
    momentum = first.states[0].optimizer.state_dict()["state"]
    assert momentum and all(torch.equal(momentum[k]["momentum_buffer"],
                                        second.states[0].optimizer.state_dict()["state"][k]["momentum_buffer"])
                            for k in momentum)
    resumed = second.train()
    assert resumed["epoch"] == 3 and resumed["lr"] == pytest.approx(0.0125)
    final = second.train()
    assert final["epoch"] == 4 and final["done"]
    first.stop()
    second.stop()

    test = TrialTrainable.evaluate_checkpoint(saved.checkpoint, _config(), splits)
    assert len(test["predictions"]) == len(splits.test) and 0.0 <= test["test_acc"] <= 1.0
    assert test["epoch"] == 2


def test_patience_ends_the_trial(ray_local, caltech_tree):
    splits = build_dataset("caltech101", caltech_tree)
    trainable = tune.with_parameters(TrialTrainable, splits=splits)(_config(lr=1e-9, patience=1, epochs=10))
    results = [trainable.train() for _ in range(2)]
    assert results[-1]["done"] and results[-1]["early_stop"] == 1 and results[-1]["epoch"] == 2
    trainable.stop()


def test_a_reused_actor_runs_the_next_trial_from_scratch(ray_local, caltech_tree):
    """reuse_actors: Tune hands a finished trial's actor the next config; nothing of the old trial carries over."""
    splits = build_dataset("caltech101", caltech_tree)
    trainable = tune.with_parameters(TrialTrainable, splits=splits)(_config(lr=0.05))
    first = [trainable.train() for _ in range(2)]
    assert trainable.reset({**_config(lr=0.2, epochs=3), "seed": 1})
    second = [trainable.train() for _ in range(3)]
    assert [r["epoch"] for r in first] == [1, 2] and [r["epoch"] for r in second] == [1, 2, 3]
    assert second[0]["lr"] == 0.2 and second[-1]["done"] and trainable.config["lr"] == 0.2
    assert all(0.0 <= r["data_wait_frac"] <= 1.0 for r in first + second)
    trainable.stop()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("pipeline, compile", [("cached", False), ("naive", False), ("cached", True)])
def test_trial_trains_on_the_gpu(ray_local, caltech_tree, pipeline, compile):
    from dataclasses import asdict

    from tunebench.settings import AccelSettings

    splits = build_dataset("caltech101", caltech_tree)
    config = _config(model="resnet50", image_size=64, augment="flip_rotate_perspective_jitter",
                     data_pipeline=pipeline, **asdict(AccelSettings(compile=compile).on(cuda=True)))
    trainable = tune.with_parameters(TrialTrainable, splits=splits)(config)
    results = [trainable.train() for _ in range(2)]
    weight = trainable.states[0].model.conv1.weight
    assert weight.is_cuda and weight.dtype == torch.float32  # bf16 autocast: the weights stay fp32
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.backends.cudnn.benchmark
    assert all(r["images_per_s"] > 0 and torch.isfinite(torch.tensor(r["val_loss"])) for r in results)
    trainable.stop()


def _catsdogs_config(benchmark: str, **overrides):
    b = BENCHMARKS[benchmark]
    return {**b.defaults, "model": b.model, "epochs": 2, "seed": 0, "image_size": 32, "batch_size": 8,
            "weights": "none", "augment": "none", **overrides}


@pytest.fixture(scope="module")
def dogs_vs_cats_splits(tmp_path_factory):
    from tests.fixture_data import build_dogs_vs_cats

    return build_dataset("dogs-vs-cats", build_dogs_vs_cats(tmp_path_factory.mktemp("dvc"), per_class=8))


@pytest.mark.parametrize("backbone", ["vgg16", "mobilenet_v2"])
def test_two_stage_trial_unfreezes_the_backbone_after_the_frozen_epochs(ray_local, dogs_vs_cats_splits, backbone):
    config = _catsdogs_config("transfer-catsdogs", backbone=backbone, frozen_epochs=1, fine_tune_epochs=1,
                              epochs=13)
    trainable = tune.with_parameters(TrialTrainable, splits=dogs_vs_cats_splits)(config)
    model = trainable.states[0].model
    backbone_before = {k: v.clone() for k, v in model.features.state_dict().items()}
    first = trainable.train()
    assert first["stage"] == 1 and not first["done"]
    assert all(torch.equal(v, model.features.state_dict()[k]) for k, v in backbone_before.items())
    second = trainable.train()
    assert second["stage"] == 2 and second["done"] and second["epoch"] == 2  # 1 + 1 epochs, not 13
    assert second["trainable_params"] > first["trainable_params"]
    recipe_lr = {"vgg16": 5e-5, "mobilenet_v2": 1e-5}[backbone]  # the report's fine-tuning learning rate
    assert second["lr"] == pytest.approx(recipe_lr)
    assert any(not torch.equal(v, model.features.state_dict()[k]) for k, v in backbone_before.items())
    saved = trainable.save()
    restored = tune.with_parameters(TrialTrainable, splits=dogs_vs_cats_splits)(config)
    restored.restore(saved)
    assert restored.states[0].stage == 2 and restored.states[0].model.stage == 2
    trainable.stop()
    restored.stop()


def test_each_configuration_is_trained_three_times_with_different_seeds(ray_local, dogs_vs_cats_splits):
    config = _catsdogs_config("cnn-catsdogs", executions=3, patience=15, restore_best=True)
    trainable = tune.with_parameters(TrialTrainable, splits=dogs_vs_cats_splits)(config)
    assert len(trainable.states) == 3
    first_kernels = [next(s.model.parameters()).detach().clone() for s in trainable.states]
    assert not torch.equal(first_kernels[0], first_kernels[1]) and not torch.equal(first_kernels[1], first_kernels[2])
    results = [trainable.train() for _ in range(2)]
    assert [s.epoch for s in trainable.states] == [2, 2, 2] and results[-1]["done"]
    runs = [results[-1][f"val_acc_execution_{i}"] for i in range(3)]
    assert results[-1]["executions"] == 3
    assert results[-1]["val_acc"] == pytest.approx(sum(runs) / 3)
    saved = trainable.save()
    resumed = tune.with_parameters(TrialTrainable, splits=dogs_vs_cats_splits)(config)
    resumed.restore(saved)
    assert resumed.finished == [True, True, True] and resumed.latest == trainable.latest
    resumed.stop()
    test = TrialTrainable.evaluate_checkpoint(saved.checkpoint, config, dogs_vs_cats_splits)
    assert len(test["predictions"]) == len(dogs_vs_cats_splits.test) and set(test["predictions"]) <= {0, 1}
    trainable.stop()


@pytest.mark.parametrize("pipeline", ["cached", "naive"])
def test_a_trial_resumed_from_its_checkpoint_trains_as_if_never_interrupted(ray_local, caltech_tree, pipeline):
    """Batch order, augmentation and dropout draws continue from the checkpoint: a resumed search finds the same
    best trial as an uninterrupted one."""
    splits = build_dataset("caltech101", caltech_tree)
    trainable_cls = tune.with_parameters(TrialTrainable, splits=splits)
    config = _config(augment="flip_rotate_perspective", data_pipeline=pipeline, model="alexnet", image_size=64,
                     epochs=3)
    straight = trainable_cls(config)
    uninterrupted = [straight.train() for _ in range(3)]
    interrupted = trainable_cls(config)
    interrupted.train()
    saved = interrupted.save()
    resumed = trainable_cls(config)
    resumed.restore(saved)
    after = [resumed.train() for _ in range(2)]
    for expected, got in zip(uninterrupted[1:], after):
        assert (got["epoch"], got["train_loss"], got["val_loss"]) == \
            (expected["epoch"], expected["train_loss"], expected["val_loss"])
    for trainable in (straight, interrupted, resumed):
        trainable.stop()


def test_trial_settings_fill_the_recipe_resolve_normalisation_and_pass_the_model_its_keys():
    from tunebench.trainable import TrialSettings

    transfer = TrialSettings.of({**BENCHMARKS["transfer-catsdogs"].defaults, "model": "transfer",
                                 "backbone": "mobilenet_v2", "lr": None, "optimizer": None, "epochs": 20,
                                 "normalize": "auto"})
    # report 004's MobileNetV2 recipe where the config says None; ImageNet weights want ImageNet statistics
    assert (transfer.optim.optimizer, transfer.optim.lr, transfer.fit.fine_tune_lr) == ("adam", 1e-4, 1e-5)
    assert transfer.model.weights == "imagenet" and transfer.data.normalize == "imagenet"
    assert transfer.fit.total_epochs == 4 + 9
    scratch = TrialSettings.of({**_config(), "weights": "none", "normalize": "auto"})
    assert scratch.data.normalize == "scratch" and scratch.model.options == {"weights": "none", "freeze": "none"}
    assert TrialSettings.of({**_config(), "normalize": "unit"}).data.normalize == "unit"  # asked for: kept

"""Cached batches prepared by a producer thread ahead of the training loop (CPU): the same batches and the same
trained weights as batches prepared in the loop, a bounded number ahead, the producer's error raised in the loop
as itself, and no thread left running when a loop ends early."""

from __future__ import annotations

import threading
import time
import traceback

import pytest
import torch

from tunebench.data.batches import CachedBatches, batch_generators, make_batches, prefetched
from tunebench.models import build_model
from tunebench.settings import DataSettings, FitSettings, OptimSettings
from tunebench.train import Objective, TrainingState, fit, train_one_epoch

CPU = torch.device("cpu")
AUGMENTED = DataSettings(image_size=48, normalize="scratch", augment="flip_rotate_perspective", batch_size=8)


def _threads() -> list[str]:
    """tunebench's batch threads still running (the producer, the cache reader)."""
    return [t.name for t in threading.enumerate() if t.name.startswith("tunebench-")]


def _batches(splits, prefetch: int, data: DataSettings = AUGMENTED, part: str = "train"):
    batches = make_batches(data, splits, part, train=part == "train", seed=4, device=CPU)
    batches.prefetch = prefetch
    return batches


def test_prefetched_batches_equal_the_batches_prepared_in_the_loop(caltech):
    runs = []
    for depth in (0, 1, 3):
        batches = _batches(caltech, depth)
        epochs = [list(batches) for _ in range(2)]  # reshuffled and augmented anew in the second
        runs.append((epochs, [g.get_state() for g in batch_generators(batches)]))
    (plain, plain_states), *prefetched_runs = runs
    assert len(plain[0]) > 2 and not torch.equal(plain[0][0][1], plain[1][0][1])
    for epochs, states in prefetched_runs:
        for epoch, plain_epoch in zip(epochs, plain):
            assert len(epoch) == len(plain_epoch)
            for (images, labels), (plain_images, plain_labels) in zip(epoch, plain_epoch):
                assert torch.equal(images, plain_images) and torch.equal(labels, plain_labels)
        # a checkpoint after the epochs saves the same generator states: a resumed trial draws the same batches
        assert all(torch.equal(a, b) for a, b in zip(states, plain_states))
    assert not _threads()


def test_a_fit_on_prefetched_batches_trains_the_same_weights(caltech):
    data = DataSettings(image_size=32, normalize="scratch", augment="flip_rotate_perspective", batch_size=16)
    weights = []
    for depth in (0, 1):
        torch.manual_seed(0)
        state = TrainingState.create(build_model("tiny-cnn", caltech.num_classes), OptimSettings(lr=0.05),
                                     FitSettings())
        history = list(fit(state, _batches(caltech, depth, data), _batches(caltech, depth, data, "val"),
                           FitSettings(epochs=2), device=CPU))
        assert len(history) == 2 and all(0 <= h["data_wait_frac"] <= 1 for h in history)
        weights.append(state.model.state_dict())
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def test_the_producer_keeps_at_most_depth_items_ready():
    made = []

    def count_up():
        for i in range(20):
            made.append(i)
            yield i
    items = prefetched(count_up(), depth=2)
    assert next(items) == 0
    deadline = time.monotonic() + 20
    while len(made) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert made == [0, 1, 2, 3]  # the one taken, two ready, one made and waiting for room
    items.close()
    assert not _threads() and made == [0, 1, 2, 3]


def test_an_error_preparing_a_batch_is_raised_in_the_loop_as_itself(caltech):
    gray = _batches(caltech, 0, DataSettings(image_size=32, color="grayscale", normalize="unit", batch_size=8))
    rgb_stats = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # three channels' statistics for one-channel images
    batches = CachedBatches(gray.split, batch_size=8, shuffle=True, seed=0, device=CPU, stats=rgb_stats)
    model = build_model("tiny-cnn", caltech.num_classes)
    state = TrainingState.create(model, OptimSettings(lr=0.01), FitSettings())
    with pytest.raises(RuntimeError, match="shape") as raised:
        train_one_epoch(model, batches, Objective(), state.optimizer, CPU)
    frames = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert "produce" in frames and "_prepare" in frames  # raised in the producer thread, re-raised in the loop
    assert not _threads()


def test_a_loop_that_ends_early_leaves_no_thread_running(caltech):
    for _ in _batches(caltech, 1):
        break  # as a trial stopped in the middle of an epoch
    assert not _threads()
    model = build_model("tiny-cnn", 2)  # fewer outputs than the split's labels: the loss fails mid-epoch
    state = TrainingState.create(model, OptimSettings(lr=0.01), FitSettings())
    with pytest.raises((IndexError, RuntimeError), match="out of bounds"):
        train_one_epoch(model, _batches(caltech, 1), Objective(), state.optimizer, CPU)
    assert not _threads()

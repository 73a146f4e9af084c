"""`--set key=value`: typed, range-checked, and only keys the benchmark has."""

from __future__ import annotations

import pytest

from search_spaces import BENCHMARKS
from tunebench import TunebenchError
from tunebench.hparams import parse_overrides

DEFAULTS = BENCHMARKS["alexnet-caltech"].defaults


def test_values_are_parsed_to_their_types():
    assert parse_overrides(["lr=0.01", "step_size=5,10", "weights=imagenet", "patience=none"], DEFAULTS) == {
        "lr": [0.01], "step_size": [5, 10], "weights": ["imagenet"], "patience": [None]}


@pytest.mark.parametrize("pair,message", [
    ("learning_rate=0.1", "unknown hyperparameter"),
    ("lr=fast", "expected a float"),
    ("lr=-0.1", "out of range"),
    ("lr=0", "out of range"),
    ("step_size=2.5", "expected an int"),
    ("gamma=1.5", "out of range"),
    ("freeze=everything", "must be one of"),
    ("lr", "expected key=value"),
])
def test_bad_values_are_refused(pair, message):
    with pytest.raises(TunebenchError, match=message):
        parse_overrides([pair], DEFAULTS)

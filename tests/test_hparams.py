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


def test_every_setting_a_user_may_give_is_in_the_table_with_the_settings_default():
    from dataclasses import MISSING, fields

    from tunebench.hparams import HPARAMS, SETTINGS

    internal = {"options", "feature_cache", "data_pipeline", "epochs", "seed"}  # the search sets these (--max-epochs, --seed, ...)
    for cls in SETTINGS:
        for field in fields(cls):
            if field.name in internal:
                continue
            assert field.name in HPARAMS, f"{cls.__name__}.{field.name} cannot be given with --set"
            if field.default is not MISSING:
                assert HPARAMS[field.name].default == field.default, field.name
                assert HPARAMS[field.name].problem(field.default) is None, f"{field.name}'s default is refused"

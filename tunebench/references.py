"""The report's figures tied to the configurations behind them (References), and which one a configuration is:
`compare`, `report` and the end of a search set a search against the report row that ran its best configuration.
The studies declare the figures (tunebench/study.py); this module only matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

SCALE_KEYS = frozenset({"limit_per_class", "workers", "epochs", "seed", "executions"})
"""Config keys that say how much work a run does (and how often it is repeated), not what was run: reference
matching ignores them."""


@dataclass(frozen=True)
class Reference:
    """A published figure set and the whole configuration behind it (defaults included)."""

    row: str                      # "report 003 T3.3 lr=0.01"
    config: Mapping[str, Any]
    figures: Mapping[str, Any]


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    return a == b


def matches(reference: Reference, config: Mapping[str, Any]) -> bool:
    """The configuration is the reference's: every key of the reference's config (but the scale keys) has the
    same value in `config`."""
    return all(same_value(config.get(k), v) for k, v in reference.config.items() if k not in SCALE_KEYS)


def match_reference(references: Sequence[Reference], config: Mapping[str, Any]) -> Reference | None:
    """The report row that ran this configuration: one with a test figure first; None when the report never
    ran it."""
    found = [r for r in references if matches(r, config)]
    with_test = [r for r in found if "test_acc" in r.figures]
    return (with_test or found or [None])[0]


def headline(figures: Mapping[str, Any]) -> str | None:
    """The figure a row is compared on: test accuracy when the report gives it, else validation accuracy."""
    order = ("test_acc", "stage2_test_acc", "val_acc", "test_macro_recall", "val_macro_recall")
    return next((k for k in order if k in figures), None)

"""The Study contract: a report's tables as data, and the report's figures tied to the configurations behind them.

A Study is a report; its Tables are the report's tables; a Table's Rows are configurations (a benchmark's defaults,
the table's base, the row's own values) with the figures the report published for them. Row kinds:

  arms(...)          named rows with their own overrides (report 002's experiments, report 004's variants)
  product(...)       every combination of a few keys (report 004's split x colour x augmentation)
  one_factor(...)    one key at a time around the table's base, winners not carried (report 003's T3.9)
  Table(carry=...)   keep-the-best: the base takes the winning values of earlier tables (report 003's T3.5, T3.6)
  Table(search=...)  a search whose best trial is the row (report 004's random search)

No Ray, torch or MLflow here. The rows' figures become the benchmarks' references (`references()`; matching a
configuration to them is tunebench/references.py).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from tunebench.references import Reference

if TYPE_CHECKING:
    from tunebench.benchmark import Benchmark

FIGURES = {
    # key: (column heading, what it is); val_* and test_* say which split the report measured
    "train_loss": "train loss", "train_acc": "train accuracy",
    "val_loss": "validation loss", "val_acc": "validation accuracy",
    "val_macro_recall": "validation macro recall", "val_macro_f1": "validation macro F1",
    "stage1_test_acc": "test accuracy at the end of the frozen stage", "stage1_test_loss": "test loss, frozen stage",
    "stage2_test_acc": "test accuracy at the end of fine-tuning", "stage2_test_loss": "test loss, fine-tuned",
    "test_loss": "test loss", "test_acc": "test accuracy",
    "test_macro_recall": "test macro recall", "test_macro_f1": "test macro F1",
    "best_epoch": "epoch of the best validation score", "epoch_seconds": "seconds per epoch",
    "trainable_params": "trainable parameters", "model_mb": "model size (MB)",
    "confusion": "test confusion matrix (rows true, columns predicted)",
}
def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Row:
    """A configuration of a table: its values over the table's base, and the report's figures for it."""

    label: str
    values: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)   # FIGURES keys -> the published figure
    benchmark: str | None = None                              # None: the table's

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "report", _frozen(self.report))
        unknown = set(self.report) - set(FIGURES)
        if unknown:
            raise ValueError(f"row {self.label}: unknown figures {sorted(unknown)} (known: {', '.join(FIGURES)})")


@dataclass(frozen=True)
class SearchRow:
    """A table that is one search: `search` over the benchmark's space, its best trial is the row."""

    search: str = "random"
    num_samples: int = 10
    smoke_samples: int = 2


@dataclass(frozen=True)
class Table:
    """One of the report's tables.

    base          values over the benchmark's defaults shared by every row
    carry         ids of earlier tables whose winning values (by the benchmark's metric) the base takes
    max_epochs    epochs per row of the table's benchmark (None, and rows of other benchmarks: the benchmark's)
    confusion     a confusion matrix per row (the report shows them)
    per_class     the per-class precision / recall / F1 per row in the study's report
    least_confident  this many least-confident test images per row (per-image probabilities)
    note          tunebench's choices where the report is silent
    """

    id: str
    title: str
    benchmark: str
    rows: tuple[Row, ...]
    base: Mapping[str, Any] = field(default_factory=dict)
    carry: tuple[str, ...] = ()
    search: SearchRow | None = None
    max_epochs: int | None = None
    confusion: bool = False
    per_class: bool = False
    least_confident: int = 0
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", _frozen(self.base))
        object.__setattr__(self, "rows", tuple(self.rows))
        if self.search and len(self.rows) != 1:
            raise ValueError(f"{self.id}: a search table has one row, its best trial")

    def benchmarks(self) -> list[str]:
        return list(dict.fromkeys(row.benchmark or self.benchmark for row in self.rows))

    def varied(self) -> list[str]:
        """The keys whose values differ between rows (the table's value columns), in first-seen order."""
        keys = list(dict.fromkeys(k for row in self.rows for k in row.values))
        if len(self.benchmarks()) > 1:
            keys.insert(0, "benchmark")
        return keys

    def figures(self) -> list[str]:
        """The figures the report gives for any row of the table, in FIGURES order."""
        given = {k for row in self.rows for k in row.report}
        return [k for k in FIGURES if k in given]


@dataclass(frozen=True)
class Study:
    """A report's tables, in the report's order. `note` says what tunebench chose where the report is silent;
    `smoke` makes a large study's --smoke run smaller still (fewer images, fewer epochs)."""

    name: str
    seed_report: str
    title: str
    tables: tuple[Table, ...]
    note: str = ""
    smoke: Mapping[str, Any] = field(default_factory=dict)  # --smoke: over each benchmark's smoke values

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(self.tables))
        object.__setattr__(self, "smoke", _frozen(self.smoke))
        ids = [t.id for t in self.tables]
        for table in self.tables:
            missing = [c for c in table.carry if c not in ids[:ids.index(table.id)]]
            if missing:
                raise ValueError(f"{self.name} {table.id}: carries {missing}, which is not an earlier table")
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.name}: table ids repeat")

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)


# --- row kinds --------------------------------------------------------------------------------------------------

def arms(*rows: Row) -> tuple[Row, ...]:
    return rows


def product(keys: Mapping[str, Sequence[Any]], report: Mapping[tuple, Mapping[str, Any]] | None = None,
            ) -> tuple[Row, ...]:
    """Every combination of `keys`' values, in order (the last key varies fastest); `report` by value tuple."""
    report = report or {}
    return tuple(Row(", ".join(str(v) for v in combination), dict(zip(keys, combination)),
                     report.get(combination, {}))
                 for combination in itertools.product(*keys.values()))


def one_factor(values: Mapping[str, Sequence[Any]], report: Sequence[Mapping[str, Any]] = ()) -> tuple[Row, ...]:
    """One key at a time, every other key at the table's base; `report` in the same order as the rows."""
    pairs = [(key, value) for key, options in values.items() for value in options]
    figures = list(report) + [{}] * (len(pairs) - len(report))
    return tuple(Row(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}", {key: value}, figures[i])
                 for i, (key, value) in enumerate(pairs))


# --- a row's whole configuration ------------------------------------------------------------------------------

def row_config(benchmark: Benchmark, table: Table, row: Row, carried: Mapping[str, Any] | None = None, *,
               smoke: Mapping[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """What a row runs: the benchmark's defaults, the table's base, the values carried from earlier tables, the
    row's own values. `smoke` (--smoke: the study's smoke values, None otherwise) goes over all of them, after the
    benchmark's own smoke values (random weights, small images, few images, few epochs)."""
    config = {**benchmark.defaults, **table.base, **(carried or {}), **row.values}
    smoke_values = {**benchmark.smoke, **smoke} if smoke is not None else {}
    config.update({k: v for k, v in smoke_values.items() if k in benchmark.defaults})
    config.setdefault("model", benchmark.model)
    own = table.max_epochs if benchmark.name == table.benchmark else None  # other benchmarks' rows: their own
    config.update(epochs=smoke_values.get("max_epochs") or own or benchmark.max_epochs, seed=seed)
    return config


def config_key(config: Mapping[str, Any]) -> str:
    """What makes two rows the same run: their whole config but the row labels and the device settings (how the
    trials' device runs is not what was run)."""
    from tunebench.settings import AccelSettings, keys
    from tunebench.trials import ROWS_KEY

    left_out = {ROWS_KEY, "data_pipeline", *keys(AccelSettings)}
    return json.dumps({k: v for k, v in config.items() if k not in left_out}, sort_keys=True, default=str)


def winner(table: Table, scores: Sequence[tuple[Row, float | None]], mode: str) -> Mapping[str, Any]:
    """The values of the table's best row by a score (None scores never win; on a tie the first row)."""
    scored = [(row, score) for row, score in scores if score is not None and not math.isnan(score)]
    if not scored:
        raise ValueError(f"{table.id}: no row has a score, so no winner to carry")
    best = (max if mode == "max" else min)(scored, key=lambda pair: pair[1])
    return best[0].values


def carried(table: Table, winners: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The values a keep-the-best table's base takes from the earlier tables it carries."""
    return {k: v for carry in table.carry for k, v in winners.get(carry, {}).items()}


def report_winners(study: Study, benchmarks: Mapping[str, Benchmark]) -> dict[str, Mapping[str, Any]]:
    """Each table's winning values by the report's own figures (of the benchmark's metric), where it gives them."""
    winners: dict[str, Mapping[str, Any]] = {}
    for table in study.tables:
        benchmark = benchmarks[table.benchmark]
        scores = [(row, row.report.get(benchmark.metric)) for row in table.rows]
        if any(score is not None for _, score in scores):
            winners[table.id] = winner(table, scores, benchmark.mode)
    return winners


def references(study: Study, benchmarks: Mapping[str, Benchmark]) -> dict[str, list[Reference]]:
    """The report's figures of every row, by benchmark, each with the whole configuration behind it; a
    keep-the-best table's base takes the winners of the report's own figures."""
    found: dict[str, list[Reference]] = {}
    winners = report_winners(study, benchmarks)
    for table in study.tables:
        for row in table.rows:
            benchmark = benchmarks[row.benchmark or table.benchmark]
            if row.report and not table.search:
                config = row_config(benchmark, table, row, carried(table, winners))
                found.setdefault(benchmark.name, []).append(
                    Reference(f"report {study.seed_report} {table.id} {row.label}", config, row.report))
    return found

"""A study's output: each table of the report as a DataFrame of its rows (the values that vary, our validation and
test figures, the report's figures and the difference), written as CSV and Markdown per table, and as one
study.md / study.html with the confusion matrices, per-class reports and least-confident images the report
shows. Data in, files out: no training and no MLflow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from tunebench import plots
from tunebench.reports import classification_table, confusion_frame, format_value
from tunebench.benchmark import Benchmark
from tunebench.references import headline
from tunebench.study import Row, Study, Table, carried, config_key, report_winners, row_config
from tunebench.study_report import Section, html_page, markdown_page, markdown_table

OURS = ("val_loss", "val_acc", "test_loss", "test_acc", "best_epoch", "epoch_seconds")
MACRO = ("val_macro_recall", "val_macro_f1", "test_macro_recall", "test_macro_f1")
STAGES = ("stage1_test_acc", "stage2_test_acc")
SHOWN_WHEN_REPORTED = ("train_loss", "train_acc", "trainable_params", "model_mb")


@dataclass
class RowResult:
    """A row as it ran: the table's row, the benchmark and config it ran with, and its scores (empty when it did
    not finish: an errored trial)."""

    row: Row
    benchmark: str
    config: Mapping[str, Any]
    scores: Mapping[str, Any]


def figure_columns(table: Table, macro: bool) -> list[str]:
    """Our figures shown for a table: validation and test loss / accuracy, best epoch, seconds per epoch; macro
    scores when the benchmark is scored by them; train figures, per-stage test, parameters and size where the
    report has them."""
    reported = set(table.figures())
    columns = [k for k in SHOWN_WHEN_REPORTED[:2] if k in reported] + list(OURS[:2])
    columns += list(MACRO[:2]) if macro else []
    columns += [k for k in STAGES if k in reported] + list(OURS[2:4])
    columns += list(MACRO[2:]) if macro else []
    columns += list(OURS[4:]) + [k for k in SHOWN_WHEN_REPORTED[2:] if k in reported]
    return columns


def table_frame(table: Table, results: Sequence[RowResult], macro: bool = False,
                carried_keys: Sequence[str] = ()) -> pd.DataFrame:
    """One line per row: label, varied values (and the values a keep-the-best table carried), our figures, then
    `report <figure>` for every figure the report gives and `<headline> - report`."""
    ours = figure_columns(table, macro)
    reported = [k for k in table.figures() if k != "confusion"]
    key = headline(dict.fromkeys(reported))
    small = "confusion" in table.figures() and all(_small(r.report["confusion"]) for r in table.rows
                                                   if "confusion" in r.report)
    lines = []
    for result in results:
        line: dict[str, Any] = {"row": result.row.label}
        for k in [*table.varied(), *(k for k in carried_keys if k not in table.varied())]:
            line[k] = result.benchmark if k == "benchmark" else result.config.get(k)
        line.update({k: result.scores.get(k) for k in ours})
        if small:
            line["confusion"] = confusion_text(result.scores.get("confusion"))
            line["report confusion"] = confusion_text(result.row.report.get("confusion"))
        line.update({f"report {k}": result.row.report.get(k) for k in reported})
        if key:
            mine, theirs = result.scores.get(key), result.row.report.get(key)
            line[f"{key} - report"] = mine - theirs if mine is not None and theirs is not None else None
        lines.append(line)
    frame = pd.DataFrame(lines)
    numeric = [*ours, *(f"report {k}" for k in reported), *([f"{key} - report"] if key else [])]
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    # what the trainer never reports (an SVM: no loss, no epoch time) is left out, unless the report has it
    return frame.drop(columns=[c for c in ours if frame[c].isna().all() and c not in reported and len(frame)
                               and any(result.scores for result in results)])


def _small(matrix: Any) -> bool:
    """A confusion matrix that reads on one line of a table (two or three classes); larger ones are drawn."""
    return len(matrix) <= 3


def confusion_text(matrix: Any) -> str | None:
    if matrix is None:
        return None
    rows = matrix.to_numpy().tolist() if isinstance(matrix, pd.DataFrame) else matrix
    return "[" + ", ".join("[" + ", ".join(str(int(v)) for v in row) + "]" for row in rows) + "]"


def _predictions(result: RowResult) -> pd.DataFrame | None:
    path = result.scores.get("predictions")
    return pd.read_csv(path, dtype={"true": str, "predicted": str}) if path and Path(path).is_file() else None


def with_confusion(results: Sequence[RowResult]) -> list[RowResult]:
    """Each row's test confusion matrix (from its predictions) among its scores."""
    done = []
    for result in results:
        predictions = _predictions(result)
        scores = dict(result.scores)
        if predictions is not None:
            scores["confusion"] = confusion_frame(predictions)
        done.append(RowResult(result.row, result.benchmark, result.config, scores))
    return done


def _slug(table: Table, index: int) -> str:
    return f"{table.id}-{index + 1:02d}"


def table_sections(table: Table, results: Sequence[RowResult], frame: pd.DataFrame, folder: Path,
                   carry_note: str = "") -> list[Section]:
    """The table, then what the report shows per row: confusion matrices, per-class reports, least-confident
    images."""
    notes = [n for n in (carry_note, table.note) if n]
    sections = [Section(f"{table.id}: {table.title}", " ".join(notes), frame)]
    for i, result in enumerate(results):
        predictions = _predictions(result)
        if predictions is None:
            continue
        name = f"{table.id} {result.row.label}"
        if table.confusion:
            ours = confusion_frame(predictions)
            images = [plots.confusion_matrix(ours, folder / f"{_slug(table, i)}-confusion.png")]
            published = result.row.report.get("confusion")
            if published is not None and len(published) == len(ours):
                report = pd.DataFrame(published, index=ours.index, columns=ours.columns)
                images.append(plots.confusion_matrix(report, folder / f"{_slug(table, i)}-report-confusion.png"))
            sections.append(Section(f"{name}: confusion matrix (test{', then the report' if len(images) > 1 else ''})",
                                    images=images))
        if table.per_class:
            per_class = classification_table(predictions["true"], predictions["predicted"]).round(4)
            per_class.to_csv(folder / f"{_slug(table, i)}-per-class.csv", index=False)
            sections.append(Section(f"{name}: per-class precision, recall and F1 (test)", table=per_class))
        if table.least_confident and "confidence" in predictions:
            least = predictions.nsmallest(table.least_confident, "confidence")[["file", "true", "predicted",
                                                                                  "confidence"]]
            sections.append(Section(f"{name}: the {len(least)} least confident test images", table=least))
    return sections


def write_study(study: Study, benchmarks: Mapping[str, Benchmark], results: Mapping[str, Sequence[RowResult]],
                winners: Mapping[str, Mapping[str, Any]], folder: Path, *, smoke: bool = False) -> dict[str, pd.DataFrame]:
    """<id>.csv and <id>.md per table, study.md and study.html with every table and its extras; returns the
    tables by id. `winners`: each table's winning values here (what keep-the-best tables carried)."""
    from tunebench.reports import describe

    folder.mkdir(parents=True, exist_ok=True)
    theirs = report_winners(study, benchmarks)
    frames = {}
    sections = [Section("About", " ".join(filter(None, [
        f"Report {study.seed_report}: {study.title}.", study.note,
        "Smoke run: tiny images, few images, random weights; the figures mean nothing." if smoke else "",
        "Every row is scored on the test split at its best-validation epoch; 'report ...' columns are the "
        "report's published figures for the same configuration."])))]
    for table in study.tables:
        rows = with_confusion(results[table.id]) if "confusion" in table.figures() else list(results[table.id])
        ours, report = carried(table, winners), carried(table, theirs)
        note = (f"Keep-the-best: ran at the best values of {', '.join(table.carry)} found here, {describe(ours)} "
                f"(the report's: {describe(report)}; where they differ, the report's figures are of other "
                f"configurations)." if table.carry else "")
        macro = benchmarks[table.benchmark].metric.startswith("val_macro")
        frame = frames[table.id] = table_frame(table, rows, macro, list(ours))
        frame.to_csv(folder / f"{table.id}.csv", index=False)
        (folder / f"{table.id}.md").write_text(f"## {table.id}: {table.title}\n\n"
                                               + (f"{note}\n\n" if note else "")
                                               + markdown_table(frame) + "\n")
        sections += table_sections(table, rows, frame, folder, note)
    title = f"{study.name}: the tables of report {study.seed_report}"
    (folder / "study.md").write_text(markdown_page(title, sections))
    (folder / "study.html").write_text(html_page(title, sections))
    return frames


def screen_text(table: Table, frame: pd.DataFrame) -> str:
    """A table for the terminal: the row labels stand for the varied values; the report's accuracies and the
    difference on its headline figure (the files have every column)."""
    key = headline(dict.fromkeys(table.figures()))
    reported = [f"report {k}" for k in ("val_acc", *STAGES, "test_acc") if k in table.figures()]
    keep = ["row", *(["benchmark"] if "benchmark" in frame else []), *OURS[:2], *MACRO[:2], *STAGES, *OURS[2:],
            *MACRO[2:], *reported, *([f"report {key}", f"{key} - report"] if key else [])]
    shown = frame[[c for c in dict.fromkeys(keep) if c in frame]]
    return f"{table.id}: {table.title}\n" + shown.to_string(index=False, na_rep="-", float_format=format_value)


def dry_run(study: Study, benchmarks: Mapping[str, Benchmark], smoke: bool = False, seed: int = 0) -> str:
    """What `tunebench study NAME` will run, table by table: each row's values, which rows run (a configuration
    another table already runs is not run again), the trials and epochs."""
    from tunebench.reports import describe

    seen: dict[str, str] = {}
    lines = [f"{study.name} (report {study.seed_report}): {study.title}" + (" [--smoke]" if smoke else "")]
    trials = epochs = 0
    for table in study.tables:
        base = describe(table.base)
        carry = f"; plus the best values of {', '.join(table.carry)}" if table.carry else ""
        lines.append(f"\n{table.id}: {table.title}  [{table.benchmark}{'; ' + base if base else ''}{carry}]")
        if table.search is not None:
            benchmark = benchmarks[table.benchmark]
            config = row_config(benchmark, table, table.rows[0], smoke=study.smoke if smoke else None, seed=seed)
            samples = table.search.smoke_samples if smoke else table.search.num_samples
            executions = config.get("executions") or 1
            lines.append(f"  {table.search.search} search of {samples} trials x {config['epochs']} epochs x "
                         f"{executions} executions over {', '.join(benchmark.space)}; its best trial is the row")
            trials, epochs = trials + samples, epochs + samples * config["epochs"] * executions
            continue
        for row in table.rows:
            benchmark = benchmarks[row.benchmark or table.benchmark]
            config = row_config(benchmark, table, row, smoke=study.smoke if smoke else None, seed=seed)
            key = config_key(config)
            runs = table.carry or key not in seen  # a carried base is known only when the earlier tables ran
            if runs:
                seen.setdefault(key, f"{table.id} {row.label}")
                trials += 1
                epochs += config["epochs"] * (config.get("executions") or 1)
            where = "" if runs else f"  (= {seen[key]})"
            values = describe({**({"benchmark": benchmark.name} if row.benchmark else {}), **row.values})
            lines.append(f"  {row.label:<28} {values}{where}")
    lines.append(f"\n{trials} trials{' at most' if any(t.carry for t in study.tables) else ''}, "
                 f"{epochs} epochs in all; every row scored on the test split at its best-validation epoch")
    return "\n".join(lines)

"""`tunebench report`: one search's study report (Markdown + PNGs, and an HTML page embedding them), written
from its MLflow records and logged back on the search's parent run under `report/`.

The data comes from reports.py, the drawing from plots.py; this module only reads the records, puts the
pieces in order and writes the files.
"""

from __future__ import annotations

import base64
import html
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from tunebench import TunebenchError, plots
from tunebench.benchmark import Benchmark
from tunebench.reports import (CURVE_METRICS, IMPORTANCE_ADVISED_TRIALS, IMPORTANCE_MIN_TRIALS, accuracy_row_fixed,
                               best_hyperparameters, best_so_far_frame, confusion_frame, curves_frame, describe,
                               describe_objectives, fill_best_from_histories, format_value, importances,
                               matching_report_row, objective_frame, one_factor_slice, one_factor_table, pareto_front, parse_objectives,
                               run_tag, trials_frame, varied_params)
from tunebench.search.methods import SEARCHES
from tunebench.tracking import Tag, Tracker, tag

TRIALS_SHOWN = 20  # rows of the trials table: the best ones


@dataclass
class Section:
    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    images: list[Path] = field(default_factory=list)


def find_search(tracker: Tracker, benchmark: Benchmark, search: str) -> tuple[pd.Series, pd.DataFrame]:
    """The parent run of a search (`latest` or a run id) and its trial runs: only these are read."""
    latest = search == "latest"
    found = tracker.searches([benchmark.name], run_id=None if latest else search, newest=latest) \
        if latest or search.isalnum() else pd.DataFrame()  # MLflow's run ids are hex
    if found.empty:
        if latest or tracker.searches([benchmark.name], newest=True).empty:
            raise TunebenchError(f"no searches of {benchmark.name} in {tracker.uri}")
        raise TunebenchError(f"no search with run id {search} in experiment {benchmark.name} at {tracker.uri}")
    parent = found.iloc[0]
    return parent, tracker.trials_of(parent["experiment_id"], parent["run_id"])


def _summary(benchmark: Benchmark, parent: pd.Series, trials: pd.DataFrame) -> Section:
    row, key, figure = matching_report_row(benchmark.reference, parent)
    objectives = parse_objectives(run_tag(parent, Tag.OBJECTIVES))
    sampler = run_tag(parent, Tag.SAMPLER)  # an optuna search's: "optuna (gp)"
    rows = {
        "benchmark": benchmark.name, "search": parent.get(tag(Tag.RUN_NAME)), "run id": parent["run_id"],
        "status": parent["status"], "algorithm": parent.get(tag(Tag.SEARCH)), "scheduler": parent.get(tag(Tag.SCHEDULER)),
        "trials": len(trials), "swept": str(parent.get("params.swept") or "").replace(",", ", "),
        "metric": f"{benchmark.metric} ({benchmark.mode})",
        **({"objectives": describe_objectives(objectives)} if objectives else {}),
        f"best {benchmark.metric}": parent.get(f"metrics.best_{benchmark.metric}"),
        "test accuracy": parent.get("metrics.test_acc"), "test macro F1": parent.get("metrics.test_macro_f1"),
        "report row": row, "report's figure": f"{key} {figure:.4g}" if key else None,
    }
    if sampler:
        rows["algorithm"] = f"{rows['algorithm']} ({sampler})"
    rows["best hyperparameters"] = describe(best_hyperparameters(parent))
    table = pd.DataFrame({"": list(rows), "value": ["" if v is None or (isinstance(v, float) and pd.isna(v))
                                                    else format_value(v) for v in rows.values()]})
    return Section("Search", table=table)


def one_factor_search(search: str | None) -> bool:
    """Whether a search (its parent run's `search` tag) ran the report's values in a grid or one key at a time
    (grid, coordinate, oneway): its trials hold groups where one hyperparameter moved and the others stood still,
    so a one-factor table and curve are honest. Sampled searches (optuna, random), and records without the tag,
    move every key in every trial: they get slice plots."""
    method = SEARCHES.get(str(search))
    return bool(method and method.report_values)


def build_sections(tracker: Tracker, benchmark: Benchmark, parent: pd.Series, trials: pd.DataFrame, folder: Path,
                   say: Callable[[str], None]) -> list[Section]:
    metric, mode = benchmark.metric, benchmark.mode
    swept = [k for k in str(parent.get("params.swept") or "").split(",") if k]
    frame = trials_frame(trials, swept)
    sections = [_summary(benchmark, parent, trials)]

    say(f"reading the curves of {len(frame)} trials")
    histories = tracker.metric_histories(list(frame["run_id"]), tuple(dict.fromkeys((*CURVE_METRICS, metric))))
    frame = fill_best_from_histories(frame, histories)
    sections.append(_trials_section(frame, swept, metric, mode))
    sections.extend(_pareto_sections(parent, trials, swept, folder))
    search = parent.get(tag(Tag.SEARCH))
    if swept:
        sections.extend(_one_factor_sections(frame, swept, metric, mode, folder) if one_factor_search(search)
                        else [_slices_section(frame, swept, metric, search, folder)])

    curves = curves_frame(histories[histories["key"].isin(CURVE_METRICS)], frame, metric, mode)
    sections.append(Section("Learning curves", "The top trials in colour, every other trial faintly.",
                            images=[plots.learning_curves(curves, folder / "learning_curves.png")]))

    if swept:
        parallel = frame[swept + [f"best_{metric}"]].rename(columns={f"best_{metric}": metric})
        sections.append(Section("Parallel coordinates", images=[
            plots.parallel_coordinates(parallel, swept, metric, folder / "parallel_coordinates.png")]))
        sections.extend(_importance_sections(frame, swept, metric, mode, folder))

    sections.append(Section(f"Best {metric} so far", "How fast the search found its best, in epochs and trial time.",
                            images=[plots.best_so_far(best_so_far_frame(frame, metric, mode), metric,
                                                      folder / "best_so_far.png")]))
    sections.extend(_test_sections(tracker, parent["run_id"], benchmark, folder))
    return sections


def _trials_section(frame: pd.DataFrame, swept: list[str], metric: str, mode: str) -> Section:
    """The best trials: the swept keys that took more than one value, the best values, epochs and outcome."""
    ranked = frame.sort_values(f"best_{metric}", ascending=(mode == "min"), na_position="last")
    constant = [k for k in swept if frame[k].astype(str).nunique() <= 1]
    columns = ["trial", *(k for k in swept if k not in constant),
               *(c for c in (f"best_{metric}", "best_val_loss", "best_val_acc") if c in frame),
               "epochs", "outcome", "seconds"]
    notes = [f"The best {TRIALS_SHOWN} of {len(frame)}." if len(frame) > TRIALS_SHOWN else "",
             f"The same in every trial: {describe({k: frame[k].iloc[0] for k in constant})}." if constant else ""]
    return Section("Trials (best first)", " ".join(n for n in notes if n),
                   ranked[list(dict.fromkeys(columns))].head(TRIALS_SHOWN))


def _pareto_sections(parent: pd.Series, trials: pd.DataFrame, swept: list[str], folder: Path) -> list[Section]:
    """A search of several objectives: its Pareto front (the table and every trial's plot), from the trial runs'
    last values of each objective."""
    objectives = parse_objectives(run_tag(parent, Tag.OBJECTIVES))
    if len(objectives) < 2:
        return []
    values = objective_frame(trials, objectives, swept)
    front = pareto_front(values, objectives)
    aims = describe_objectives(objectives)
    text = (f"The search's objectives: {aims}. Each finished trial at its last reported values (what the searcher "
            f"was told); on the front, the {len(front)} of {len(values)} that no other trial matches in every "
            "objective and beats in one, best first by the first objective"
            + (f" (the first {TRIALS_SHOWN} here)." if len(front) > TRIALS_SHOWN else "."))
    if front.empty:
        text = f"The search's objectives: {aims}. No finished trial reported every one of them: no front."
    constant = [k for k in swept if k in values and values[k].astype(str).nunique() <= 1]
    table = front.drop(columns=["run_id", *constant]).head(TRIALS_SHOWN)
    return [Section("Pareto front", text, table,
                    [plots.pareto_front(values, list(objectives), folder / "pareto_front.png")])]


def _one_factor_sections(frame: pd.DataFrame, swept: list[str], metric: str, mode: str,
                         folder: Path) -> list[Section]:
    """A report-style table and curve per swept key, over the trials in which it alone varied."""
    sections = []
    for param in swept:
        title = f"One factor: {param}"
        subset, fixed = one_factor_slice(frame, param, swept, metric, mode)
        if subset.empty:
            sections.append(Section(title, f"No trials varied {param} alone: no one-factor table."))
            continue
        text = "Each value's best trial, as the reports tabulated it"
        if fixed:
            text += (f", over the {len(subset)} trials where only {param} varied (the others held at "
                     f"{describe(fixed)}). Of the groups of trials that share the other keys' values, this is the one "
                     f"with the most values of {param}, on a tie the one holding the best trial")
        table = one_factor_table(subset, param, metric, mode)
        sections.append(Section(title, text + ".", table,
                                [plots.one_factor(table, param, folder / f"one_factor_{param}.png",
                                                  describe(fixed))]))
    return sections


def _slices_section(frame: pd.DataFrame, swept: list[str], metric: str, search: str | None,
                    folder: Path) -> Section:
    data = frame[[*swept, f"best_{metric}", "outcome"]].rename(columns={f"best_{metric}": metric})
    kind = f"This {search} search" if isinstance(search, str) and search else "This search"
    return Section("Slices", f"Every trial's best {metric} against each swept hyperparameter, one panel each, a point "
                   f"per trial coloured by how it ended. {kind} drew every key in every trial: between two points "
                   "the other keys changed too, so no line joins them and no per-value table is drawn.",
                   images=[plots.slices(data, swept, metric, folder / "slices.png")])


def _importance_sections(frame: pd.DataFrame, swept: list[str], metric: str, mode: str,
                         folder: Path) -> list[Section]:
    """Optuna's importance, and the two most important keys against each other, given enough finished trials."""
    title = "Hyperparameter importance"
    finished, varied = varied_params(frame, swept, metric)
    if not varied:
        return [Section(title, "No swept hyperparameter took two values among the finished trials.")]
    if len(finished) < IMPORTANCE_MIN_TRIALS:
        return [Section(title, f"Too few trials for importance: {len(finished)} finished, needs at least "
                               f"{IMPORTANCE_MIN_TRIALS}.")]
    weights = importances(frame, swept, metric, mode)
    text = (f"Optuna's importance (its default evaluator, PED-ANOVA) over the {len(finished)} finished trials "
            "(sums to 1).")
    if len(finished) < IMPORTANCE_ADVISED_TRIALS:
        text += (f" PED-ANOVA sets the top 10% of trials against the rest and Optuna advises at least 5 trials in "
                 f"that top (about {IMPORTANCE_ADVISED_TRIALS} trials): with fewer, read it as a rough guide.")
    sections = [Section(title, text, weights.rename("importance").rename_axis("hyperparameter").reset_index(),
                        [plots.importance(weights, folder / "importance.png")])]
    if len(weights) >= 2:
        first, second = (str(k) for k in weights.index[:2])
        data = finished[[first, second, f"best_{metric}"]].rename(columns={f"best_{metric}": metric})
        sections.append(Section(f"The two most important: {first} and {second}",
                                f"Each finished trial at its {first} and {second}, coloured by its best {metric}. "
                                "No contour is interpolated between the points.",
                                images=[plots.pair(data, (first, second), metric, folder / "pair.png")]))
    return sections


def _test_sections(tracker: Tracker, run_id: str, benchmark: Benchmark, folder: Path) -> list[Section]:
    """Confusion matrix and per-class metrics of the best model on the test split, from the search's artifacts."""
    with tempfile.TemporaryDirectory() as scratch:
        predictions_file = tracker.download(run_id, "test_predictions.csv", Path(scratch))
        report_file = tracker.download(run_id, "test_classification_report.csv", Path(scratch))
        predictions = pd.read_csv(predictions_file, dtype=str) if predictions_file else None
        per_class = accuracy_row_fixed(pd.read_csv(report_file, dtype={"class": str})) if report_file else None
    if predictions is None:
        return [Section("Test split", "The search evaluated no checkpoint on the test split.")]
    matrix = confusion_frame(predictions)
    if per_class is None:
        from tunebench.reports import classification_table

        per_class = classification_table(predictions["true"], predictions["predicted"])
    return [Section("Confusion matrix (test split, best model)", images=[
                plots.confusion_matrix(matrix, folder / "confusion_matrix.png")]),
            Section("Per-class precision, recall and F1 (test split)", table=per_class.round(4),
                    images=[plots.per_class_metrics(per_class, folder / "per_class.png")])]


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """A table's cells as the pages show them: whole numbers (epochs, parameter counts) whole, other numbers to 4
    significant digits (in columns of mixed values too), empty cells empty (not "nan")."""
    shown = table.copy()
    for column in shown.select_dtypes("float"):
        values = shown[column].dropna()
        if len(values) and (values == values.round()).all() and (values.abs() < 1e15).all():
            shown[column] = shown[column].astype("Int64")

    def cell(value):
        return format_value(float(value)) if isinstance(value, (float, np.floating)) and pd.notna(value) else value

    shown = pd.DataFrame({c: pd.Series([cell(v) for v in shown[c]], index=shown.index, dtype=object)
                          for c in shown.columns})
    return shown.where(shown.notna(), None)


def markdown_table(table: pd.DataFrame) -> str:
    """A table in Markdown, cells as `_shown` writes them."""
    return _shown(table).to_markdown(index=False, floatfmt=".4g", missingval="")


def markdown_page(title: str, sections: list[Section]) -> str:
    parts = [f"# {title}\n"]
    for section in sections:
        parts.append(f"## {section.title}\n")
        if section.text:
            parts.append(section.text + "\n")
        if section.table is not None and len(section.table):
            parts.append(markdown_table(section.table) + "\n")
        parts.extend(f"![{image.stem}]({image.name})\n" for image in section.images)
    return "\n".join(parts)


def html_page(title: str, sections: list[Section]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            body.append(f"<p>{html.escape(section.text)}</p>")
        if section.table is not None and len(section.table):
            table = _shown(section.table).fillna("").to_html(index=False, border=0)
            body.append(f'<div class="table">{table}</div>')  # a wide table scrolls, not the page
        for image in section.images:
            data = base64.b64encode(image.read_bytes()).decode()
            body.append(f'<img alt="{html.escape(image.stem)}" src="data:image/png;base64,{data}">')
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}img{max-width:100%}"
             ".table{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:85%}"
             "td,th{padding:2px 8px;border-bottom:1px solid #ddd}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def write_report(tracker: Tracker, benchmark: Benchmark, search: str, output: Path,
                 say: Callable[[str], None] = print) -> Path:
    """Write report.md, report.html and the PNGs into `output`, log them on the parent run; returns report.md."""
    parent, trials = find_search(tracker, benchmark, search)
    if trials.empty:
        raise TunebenchError(f"search {parent['run_id']} of {benchmark.name} has no trial runs")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunebenchError(f"cannot write to --output {output}: {exc.strerror}") from None
    say(f"report of search {parent.get(tag(Tag.RUN_NAME))} ({parent['run_id']}), {len(trials)} trials")
    sections = build_sections(tracker, benchmark, parent, trials, output, say)
    title = f"{benchmark.name}: {parent.get(tag(Tag.RUN_NAME))}"
    (output / "report.md").write_text(markdown_page(title, sections))
    (output / "report.html").write_text(html_page(title, sections))
    tracker.log_artifacts(parent["run_id"], output, "report")
    return output / "report.md"


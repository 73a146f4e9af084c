"""Pure data: tables computed from a search's results (no training, no drawing, no MLflow calls)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from tunebench.tracking import Tag, tag
from tunebench.trials import BEST_OF, ERROR, STAGE_TESTS, STOPPED_EARLY, trial_outcome

BEST_EPOCH_COLUMNS = ("val_loss", "val_acc", "val_macro_recall", "val_macro_f1")


def best_epoch(history: pd.DataFrame, metric: str, mode: str) -> pd.Series:
    """The row of a trial's per-epoch history where `metric` was best."""
    index = history[metric].idxmax() if mode == "max" else history[metric].idxmin()
    return history.loc[index]


def trials_table(trials: Iterable[tuple[str, Mapping[str, Any], pd.DataFrame, bool]], swept: Sequence[str],
                 metric: str, mode: str, max_epochs: int) -> pd.DataFrame:
    """One row per trial: its swept hyperparameters, val loss/acc at its best epoch, epochs run, outcome.

    `trials` yields (trial_id, config, per-epoch history, errored). Sorted best first.
    """
    rows = []
    for trial_id, config, history, errored in trials:
        row: dict[str, Any] = {"trial": trial_id, **{key: config.get(key) for key in swept}}
        if history is not None and len(history) and metric in history:
            best = best_epoch(history, metric, mode)
            row.update({key: best.get(key) for key in (*BEST_EPOCH_COLUMNS, metric) if key in history})
            row.update(best_epoch=int(best["epoch"]), epochs=int(history["epoch"].max()))
            last = history.iloc[-1].to_dict()
        else:
            row.update({key: None for key in ("val_loss", "val_acc", metric)}, best_epoch=None, epochs=0)
            last = None
        row["outcome"] = trial_outcome(last, max_epochs, errored)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(metric, ascending=(mode == "min"), na_position="last").reset_index(drop=True)


TRIAL_FIGURES = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_recall", "val_macro_f1",
                 "trainable_params")


def trial_figures(history: pd.DataFrame | None, metric: str, mode: str) -> dict[str, Any]:
    """A trial's figures at its best epoch by `metric` (train and val loss and accuracy, macro scores, trainable
    parameters), that epoch, the epochs run, the mean seconds per epoch, and a two-stage trial's test figures at
    the end of its frozen stage. Empty when the trial reported nothing."""
    if history is None or not len(history) or metric not in history or history[metric].isna().all():
        return {}
    best = best_epoch(history, metric, mode)
    figures = {key: float(best[key]) for key in TRIAL_FIGURES if key in history and pd.notna(best.get(key))}
    figures.update(best_epoch=int(best["epoch"]), epochs=int(history["epoch"].max()))
    if "epoch_time_s" in history:
        figures["epoch_seconds"] = float(history["epoch_time_s"].mean())
    for key in STAGE_TESTS:
        if key in history and history[key].notna().any():
            figures[key] = float(history[key].dropna().iloc[-1])
    return figures


def predictions_table(files: Sequence[str], classes: Sequence[str], targets: Sequence[int],
                      predictions: Sequence[int], probabilities: Sequence[Sequence[float]] | None) -> pd.DataFrame:
    """One row per test image: file, true and predicted class, the confidence in the prediction and (when the
    model gives them) every class's probability."""
    table = pd.DataFrame({"file": list(files), "true": [classes[i] for i in targets],
                          "predicted": [classes[i] for i in predictions]})
    if probabilities:
        probs = pd.DataFrame(probabilities, columns=[f"p({name})" for name in classes])
        table["confidence"] = [row[p] for row, p in zip(probabilities, predictions)]
        table = pd.concat([table, probs], axis=1)
    return table


TOTALS = ("trials", "trials_stopped_early", "trials_failed", "epochs_total", "trial_hours",
          *(f"best_{key}" for key in BEST_OF))
"""What a search's trial runs add up to: a finished search's parent run carries them (`tunebench compare` then reads
no trial runs); best_<key> is the best of its trials' best_<key>."""


def trial_totals(trials: pd.DataFrame) -> dict[str, float]:
    """The TOTALS of a search's trial runs (mlflow.search_runs rows)."""
    outcome = trials.get(tag(Tag.OUTCOME), pd.Series(dtype=str))
    epochs = pd.to_numeric(trials.get(tag(Tag.EPOCHS_RUN), pd.Series(dtype=str)), errors="coerce")
    totals = {"trials": len(trials), "trials_stopped_early": int(outcome.isin(STOPPED_EARLY).sum()),
              "trials_failed": int((outcome == ERROR).sum()), "epochs_total": int(epochs.fillna(0).sum()),
              "trial_hours": float(_seconds(trials).sum() / 3600) if len(trials) else 0.0}
    for key, better in BEST_OF.items():
        column = f"metrics.best_{key}"
        if column in trials and trials[column].notna().any():
            totals[f"best_{key}"] = float(better(trials[column].dropna()))
    return totals


def recorded_totals(search: Mapping[str, Any]) -> dict[str, float] | None:
    """The TOTALS a search's parent run carries: None for a search that has not finished (its trial runs are newer)
    or that was recorded before tunebench wrote them."""
    if search.get("status") != "FINISHED" or pd.isna(search.get("metrics.trial_hours", float("nan"))):
        return None
    return {key: search[f"metrics.{key}"] for key in TOTALS
            if f"metrics.{key}" in search and pd.notna(search[f"metrics.{key}"])}


def classification_table(true: Sequence[str], predicted: Sequence[str]) -> pd.DataFrame:
    """scikit-learn's classification report as a table: precision, recall, F1 and support per class, then
    accuracy and the macro and weighted averages."""
    from sklearn.metrics import classification_report

    report = classification_report(true, predicted, output_dict=True, zero_division=0)
    table = pd.DataFrame(report).transpose()
    table.index.name = "class"
    return accuracy_row_fixed(table.reset_index())


SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg")


def accuracy_row_fixed(table: pd.DataFrame) -> pd.DataFrame:
    """A classification table whose "accuracy" row reads as scikit-learn's text report prints it: the accuracy
    under f1-score, the number of test images as its support, precision and recall blank. (The dict report holds
    accuracy as one number, which a DataFrame spreads over every column: "support 0.46". Tables written before
    this fix are repaired when read back.)"""
    if "class" not in table or "support" not in table:
        return table
    fixed = table.copy()
    names = fixed["class"].astype(str)
    accuracy = names == "accuracy"
    if accuracy.any():
        images = pd.to_numeric(fixed.loc[~names.isin(SUMMARY_ROWS), "support"], errors="coerce").sum()
        fixed.loc[accuracy, [c for c in ("precision", "recall") if c in fixed]] = float("nan")
        fixed.loc[accuracy, "support"] = images
    return fixed


# --- reading a store back: tunebench compare / report (inputs are mlflow.search_runs DataFrames) ---

CURVE_METRICS = ("train_loss", "val_loss", "train_acc", "val_acc", "stage")


def parse_param(text: Any) -> Any:
    """An MLflow param (always a string) back to a number, None or bool where it was one."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        number = float(text)
    except (TypeError, ValueError):
        return text
    return int(number) if number.is_integer() and "." not in str(text) and "e" not in str(text).lower() else number


def _seconds(runs: pd.DataFrame) -> pd.Series:
    return (pd.to_datetime(runs["end_time"]) - pd.to_datetime(runs["start_time"])).dt.total_seconds()


def format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def best_hyperparameters(search: Mapping[str, Any]) -> dict[str, Any]:
    """The best trial's swept values, from a search run's `best.<key>` tags, typed back (a row of
    mlflow.search_runs' frame, as a Series or a dict)."""
    prefix = tag(Tag.BEST_PREFIX)
    return {c.removeprefix(prefix): parse_param(v) for c, v in sorted(search.items(), key=lambda item: item[0])
            if c.startswith(prefix) and pd.notna(v)}


def describe(params: Mapping[str, Any], leave_out: Sequence[str] = ()) -> str:
    """"lr=0.01, step_size=5": hyperparameters on one line, numbers to 4 significant digits."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items() if k not in leave_out)


def search_config(search: Mapping[str, Any]) -> dict[str, Any]:
    """A search's configuration as its parent run recorded it: the fixed params, and the best trial's values of
    the swept keys (best.<key> tags), typed back."""
    params = {c.removeprefix("params."): parse_param(v) for c, v in search.items()
              if c.startswith("params.") and pd.notna(v)}
    return {**params, **best_hyperparameters(search)}


def matching_report_row(references: Sequence[Any], search: Mapping[str, Any]) -> tuple[str, str | None, float | None]:
    """The report row that ran a search's best configuration: (row, headline figure's key, its value), or
    ("no matching report row", None, None)."""
    from tunebench.references import headline, match_reference

    reference = match_reference(references, search_config(search))
    if reference is None:
        return "no matching report row", None, None
    key = headline(reference.figures)
    return reference.row, key, reference.figures.get(key) if key else None


def smoke_searches(searches: pd.DataFrame) -> pd.Series:
    """Which search runs were --smoke runs: their smoke tag, or (searches recorded before the tag) their param."""
    def flag(column: str) -> pd.Series:
        return searches.get(column, pd.Series(None, index=searches.index, dtype=object)).astype(str) == "True"

    return flag(tag(Tag.SMOKE)) | flag("params.smoke")


def run_tag(run: Mapping[str, Any], name: str) -> str | None:
    """A tag of a run, None where the run lacks it (runs recorded before the tag)."""
    value = run.get(tag(name))
    return None if value is None or (isinstance(value, float) and pd.isna(value)) or value == "" else str(value)


def compare_table(searches: pd.DataFrame, trials: pd.DataFrame,
                  benchmarks: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per search: what ran, how it went, its best values (the best over its trial runs), its test
    accuracy, and the figure of the report row that ran the same configuration beside it. The trial figures are
    the TOTALS on a finished search's parent run; `trials` holds the trial runs of the other searches.

    `benchmarks` maps a benchmark name to {"dataset", "metric", "references"} (study.Reference); a search is set
    against the report row that ran its best configuration only, and only when it ran on the benchmark's dataset
    (its dataset tag: `search --dataset folder` runs a recipe on the user's images). The dataset and metric are the
    run's own tags where it has them (a user's search-space file is in no `benchmarks`).
    """
    rows = []
    for search in searches.to_dict("records"):
        totals = recorded_totals(search)
        if totals is None:
            totals = trial_totals(trials[trials[tag(Tag.PARENT)] == search["run_id"]] if len(trials) else trials)
        info = benchmarks.get(search[tag(Tag.BENCHMARK)], {})
        dataset = run_tag(search, Tag.DATASET) or info.get("dataset")
        metric = info.get("metric") or run_tag(search, Tag.METRIC) or "val_acc"
        best_params = best_hyperparameters(search)
        same_data = dataset == info.get("dataset")
        row, key, figure = matching_report_row(info.get("references", ()) if same_data else (), search)
        if info.get("references") and not same_data:
            row = f"none: ran on {dataset}, not {info.get('dataset')}"
        ours = search.get(f"metrics.{key}") if key and key.startswith("test_") else None
        rows.append({
            "benchmark": search[tag(Tag.BENCHMARK)], "search": search.get(tag(Tag.RUN_NAME)),
            "model": best_params.get("model", search.get("params.model")), "dataset": dataset,
            "algorithm": search.get(tag(Tag.SEARCH)), "scheduler": search.get(tag(Tag.SCHEDULER)),
            "status": search["status"], "trials": int(totals["trials"]),
            "stopped_early": int(totals["trials_stopped_early"]),
            "best_hyperparameters": describe(best_params, leave_out=("model",)),
            "metric": metric, "best_metric": totals.get(f"best_{metric}"),
            "best_val_acc": totals.get("best_val_acc"), "best_val_macro_f1": totals.get("best_val_macro_f1"),
            "test_acc": search.get("metrics.test_acc"), "test_macro_f1": search.get("metrics.test_macro_f1"),
            "epochs": int(totals["epochs_total"]), "trial_hours": float(totals["trial_hours"]),
            "wall_minutes": ((pd.to_datetime(search["end_time"]) - pd.to_datetime(search["start_time"])).total_seconds()
                             / 60 if pd.notna(search["end_time"]) else None),
            "report row": row, "report figure": f"{key} {figure:.4g}" if key else None,
            "test - report": (ours - figure) if ours is not None and pd.notna(ours) else None,
        })
    table = pd.DataFrame(rows)
    return table.sort_values(["benchmark", "search"]).reset_index(drop=True) if len(table) else table


def trials_frame(trials: pd.DataFrame, swept: Sequence[str]) -> pd.DataFrame:
    """One row per trial run of a search: id, swept hyperparameters (typed), best values, epochs, outcome,
    seconds, end time; in order of completion."""
    frame = pd.DataFrame({
        "run_id": trials["run_id"], "trial": trials.get(tag(Tag.TRIAL), trials["run_id"]),
        **{key: trials.get(f"params.{key}", pd.Series(index=trials.index, dtype=object)).map(parse_param)
           for key in swept},
        **{f"best_{k}": trials.get(f"metrics.best_{k}") for k in BEST_OF},
        "epochs": pd.to_numeric(trials.get(tag(Tag.EPOCHS_RUN), pd.Series(0, index=trials.index))).fillna(0).astype(int),
        "outcome": trials.get(tag(Tag.OUTCOME)), "seconds": _seconds(trials),
        "end_time": pd.to_datetime(trials["end_time"]),
    })
    return frame.sort_values("end_time", na_position="last").reset_index(drop=True)


def fill_best_from_histories(trials: pd.DataFrame, histories: pd.DataFrame) -> pd.DataFrame:
    """best_val_* of trials whose runs do not carry them (runs still open, older records), from their curves."""
    filled = trials.copy()
    for key, better in BEST_OF.items():
        column = f"best_{key}"
        if histories.empty or key not in set(histories["key"]):
            continue
        values = histories[histories["key"] == key].groupby("run_id")["value"]
        derived = filled["run_id"].map(values.max() if better is max else values.min())
        filled[column] = filled[column].fillna(derived) if column in filled else derived
    return filled


def one_factor_table(trials: pd.DataFrame, param: str, metric: str, mode: str) -> pd.DataFrame:
    """The reports' "value | validation loss | validation accuracy" table: for each value of `param`, the
    best trial with that value (by `metric`), its val loss and val accuracy, and how many trials had it."""
    column = f"best_{metric}"
    rows = []
    for value, group in trials.groupby(trials[param].astype(str), sort=False):
        ranked = group.sort_values(column, ascending=(mode == "min"), na_position="last")
        best = ranked.iloc[0]
        rows.append({param: best[param], "val_loss": best.get("best_val_loss"), "val_acc": best.get("best_val_acc"),
                     **({metric: best[column]} if metric not in ("val_loss", "val_acc") else {}),
                     "trials": len(group)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    try:
        return table.sort_values(param).reset_index(drop=True)
    except TypeError:  # mixed types (None and numbers): keep first-seen order
        return table


def one_factor_slice(trials: pd.DataFrame, param: str, swept: Sequence[str], metric: str,
                     mode: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The trials in which `param` alone varied, and the values the other swept keys held there.

    Trials are grouped by their values of every other swept key; the group with the most values of `param` is
    the slice (a tie goes to the group holding the best trial): a coordinate or one-way search's round of
    `param`, or a grid's row through its best trial. Empty when no group has two values of `param`, as in a
    sampled search, where every trial moves every key."""
    others = [k for k in swept if k != param and k in trials]
    column = f"best_{metric}"
    if trials.empty or param not in trials:
        return trials.iloc[0:0], {}
    keys = trials[others].astype(str) if others else pd.DataFrame({"_": [""] * len(trials)}, index=trials.index)
    score = pd.to_numeric(trials[column], errors="coerce") if column in trials else pd.Series(float("nan"),
                                                                                             index=trials.index)
    score = score if mode == "max" else -score
    best, best_rank = None, None
    for _, group in trials.groupby([keys[c] for c in keys], sort=False):
        rank = (group[param].astype(str).nunique(), score[group.index].max())
        if best_rank is None or rank[0] > best_rank[0] or (rank[0] == best_rank[0] and rank[1] > best_rank[1]):
            best, best_rank = group, rank
    if best is None or best_rank[0] < 2:
        return trials.iloc[0:0], {}
    return best, {k: best[k].iloc[0] for k in others}


def rank_trials(trials: pd.DataFrame, metric: str, mode: str) -> pd.Series:
    """Rank of each trial by its best metric (1 = best), indexed by run id."""
    order = trials.sort_values(f"best_{metric}", ascending=(mode == "min"), na_position="last")["run_id"]
    return pd.Series(range(1, len(order) + 1), index=order.values)


def curves_frame(histories: pd.DataFrame, trials: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """Per-epoch curves of every trial: trial, epoch, train/val loss and accuracy (and stage), rank."""
    if histories.empty:
        return pd.DataFrame(columns=["trial", "epoch", "rank"])
    wide = histories.pivot_table(index=["run_id", "step"], columns="key", values="value").reset_index()
    wide = wide.rename(columns={"step": "epoch"})
    ranks = rank_trials(trials, metric, mode)
    names = dict(zip(trials["run_id"], trials["trial"]))
    wide["rank"] = wide["run_id"].map(ranks)
    wide["trial"] = wide["run_id"].map(names)
    return wide.drop(columns="run_id").sort_values(["rank", "epoch"]).reset_index(drop=True)


def best_so_far_frame(trials: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """How fast the search found its best: in order of completion, the cumulative epochs and trial time spent,
    and the best metric value so far."""
    done = trials.dropna(subset=["end_time"])
    values = done[f"best_{metric}"]
    best = values.cummin() if mode == "min" else values.cummax()
    return pd.DataFrame({"trial": done["trial"], "cumulative_epochs": done["epochs"].cumsum(),
                         "cumulative_time_s": done["seconds"].cumsum(), "best": best}).reset_index(drop=True)


IMPORTANCE_MIN_TRIALS = 10
"""Finished trials (ones that reported the metric) below which `tunebench report` draws no importance: Optuna's
PED-ANOVA sets the top 10% of trials (at least 2) against the rest, and Optuna advises at least 5 trials in that
top; below 10 trials the "top" is 2 trials and the importance says little."""
IMPORTANCE_ADVISED_TRIALS = 50  # 5 in the top 10%: below this the report calls the importance a rough guide


def varied_params(trials: pd.DataFrame, params: Sequence[str], metric: str) -> tuple[pd.DataFrame, list[str]]:
    """The trials that reported the metric, and the params that took at least two values among them."""
    column = f"best_{metric}"
    finished = trials.dropna(subset=[column]) if column in trials else trials.iloc[0:0]
    return finished, [p for p in params if p in finished and finished[p].astype(str).nunique() > 1]


def importances(trials: pd.DataFrame, params: Sequence[str], metric: str, mode: str) -> pd.Series:
    """Optuna's hyperparameter importance (its default evaluator, PED-ANOVA) over the trials that reported the
    metric; sums to 1. Empty when fewer than two trials or no hyperparameter varied."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    finished, varied = varied_params(trials, params, metric)
    if len(finished) < 2 or not varied:
        return pd.Series(dtype=float)
    distributions = {}
    for p in varied:
        values = finished[p]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            low, high = float(values.min()), float(values.max())
            distributions[p] = FloatDistribution(low, high, log=low > 0 and high / low > 100)
        else:
            distributions[p] = CategoricalDistribution(sorted(set(values.astype(str))))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize" if mode == "min" else "maximize")
    for _, row in finished.iterrows():
        study.add_trial(optuna.trial.create_trial(
            params={p: (float(row[p]) if isinstance(distributions[p], FloatDistribution) else str(row[p]))
                    for p in varied},
            distributions=distributions, value=float(row[f"best_{metric}"])))
    return pd.Series(optuna.importance.get_param_importances(study, normalize=True), dtype=float)


def confusion_frame(predictions: pd.DataFrame, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts of (true, predicted) test labels: rows true class, columns predicted class, same order."""
    labels = list(classes) if classes else sorted(set(predictions["true"]) | set(predictions["predicted"]))
    matrix = pd.crosstab(pd.Categorical(predictions["true"], labels), pd.Categorical(predictions["predicted"], labels),
                         dropna=False)
    matrix.index.name, matrix.columns.name = "true", "predicted"
    return matrix


# --- several objectives (search --objective a:max,b:min): the Pareto front ---

def objectives_tag(objectives: Sequence[tuple[str, str]]) -> str:
    """A search's objectives as its parent run's tag: "val_acc:max,epoch_time_s:min" (parse_objectives reads it)."""
    return ",".join(f"{metric}:{mode}" for metric, mode in objectives)


def describe_objectives(objectives: Sequence[tuple[str, str]]) -> str:
    """Objectives as the search's lines and the report say them: "val_acc (max), epoch_time_s (min)"."""
    return ", ".join(f"{metric} ({mode})" for metric, mode in objectives)


def parse_objectives(text: Any) -> tuple[tuple[str, str], ...]:
    """A parent run's objectives tag ("val_acc:max,epoch_time_s:min") as ((metric, mode), ...); () when absent."""
    if not isinstance(text, str):
        return ()
    pairs = [part.strip().rsplit(":", 1) for part in text.split(",")]
    return tuple((pair[0], pair[1]) for pair in pairs if len(pair) == 2)


def non_dominated(values: pd.DataFrame, modes: Sequence[str]) -> pd.Series:
    """Which rows are on the Pareto front: no other row is at least as good in every objective and better in one.

    `values` has one column per objective, `modes` says min or max for each, in column order. A row with a missing
    value is not on the front and dominates no row (Optuna is told no values of such a trial); rows with equal
    values are all on the front when none dominates them."""
    import numpy as np

    if len(modes) != values.shape[1]:
        raise ValueError(f"{values.shape[1]} objective columns, {len(modes)} modes")
    if any(mode not in ("min", "max") for mode in modes):
        raise ValueError(f"modes are min or max, got {list(modes)}")
    signs = np.array([-1.0 if mode == "max" else 1.0 for mode in modes])  # every objective minimised
    points = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float) * signs
    complete = ~np.isnan(points).any(axis=1) if len(points) else np.zeros(0, dtype=bool)
    others = points[complete]
    front = np.zeros(len(points), dtype=bool)
    for i in np.flatnonzero(complete):
        dominated = ((others <= points[i]).all(axis=1) & (others < points[i]).any(axis=1)).any()
        front[i] = not dominated
    return pd.Series(front, index=values.index, dtype=bool)


def pareto_front(trials: pd.DataFrame, objectives: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """The trials (one row each, a column per objective) on the Pareto front over `objectives` ((metric, mode),
    ...), best first by the first objective. An objective no trial has is a column of missing values: no front."""
    metrics = [metric for metric, _ in objectives]
    table = trials.assign(**{m: trials[m] if m in trials else float("nan") for m in metrics})
    front = table[non_dominated(table[metrics], [mode for _, mode in objectives])]
    return front.sort_values(metrics, ascending=[mode == "min" for _, mode in objectives],
                             kind="stable").reset_index(drop=True)


def objective_frame(trials: pd.DataFrame, objectives: Sequence[tuple[str, str]],
                    swept: Sequence[str]) -> pd.DataFrame:
    """One row per trial run of a search that told its searcher values (mlflow.search_runs rows: finished, not an
    error): trial id, run id, the swept hyperparameters (typed) and each objective's last reported value (the run's
    latest metric, its last epoch's)."""
    if trials.empty:
        return pd.DataFrame(columns=["trial", "run_id", *swept, *(m for m, _ in objectives)])
    outcome = trials.get(tag(Tag.OUTCOME), pd.Series(None, index=trials.index, dtype=object))
    told = trials[(trials["status"] == "FINISHED") & (outcome != ERROR)]
    missing = pd.Series(float("nan"), index=told.index)
    return pd.DataFrame({
        "trial": told.get(tag(Tag.TRIAL), told["run_id"]), "run_id": told["run_id"],
        **{key: told.get(f"params.{key}", pd.Series(None, index=told.index, dtype=object)).map(parse_param)
           for key in swept},
        **{metric: pd.to_numeric(told.get(f"metrics.{metric}", missing), errors="coerce") for metric, _ in objectives},
    }).reset_index(drop=True)

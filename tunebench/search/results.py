"""After Tuner.fit: the results table, the best trial on the test split, the parent run's summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tunebench import TunebenchError
from tunebench.reports import (classification_table, predictions_table, trial_figures, trial_totals,
                               trials_table)
from tunebench import console
from tunebench.console import duration
from tunebench.signals import INTERRUPTED
from tunebench.tracking import Tag
from tunebench.trials import BEST_OF, STOPPED_BY_BUDGET, trial_outcome

if TYPE_CHECKING:
    from tunebench.search.session import SearchSession

RESULTS_FILE = "results.csv"
TEST_FOLDER = "test"                  # --test all: each trial's predictions and per-class report
PREDICTIONS_FILE = "test_predictions.csv"
CLASSIFICATION_FILE = "test_classification_report.csv"


def interrupted(session: SearchSession, detail: str = "") -> TunebenchError:
    path = session.experiment_path
    return TunebenchError(
        f"interrupted: {detail}unfinished trials marked KILLED in MLflow; the trials so far are in "
        f"{path / RESULTS_FILE}. Continue with: tunebench search {session.benchmark.name} --resume "
        f"--name {path.name}", exit_code=130)


def finish(session: SearchSession, grid) -> str:
    """The results table (results.csv, also on the parent run), the best trial's hyperparameters and test scores
    on the parent run; returns the parent run's status."""
    benchmark, plan, tracker, parent, say = (session.benchmark, session.plan, session.tracker, session.parent,
                                             session.say)
    # a trial that completed or that the scheduler stopped reported done; Ctrl-C leaves the others without it
    unfinished = [r for r in grid if r.error is None and not (r.metrics or {}).get("done")]
    budget_stopped = end_at_budget(session, grid, unfinished) if session.budget_reached else []
    never_ran = {id(r) for r in unfinished if _trial_id(r) not in budget_stopped} if session.budget_reached else set()
    results_of = [r for r in grid if id(r) not in never_ran]
    table = trials_table(
        ((_trial_id(r), r.config or {}, r.metrics_dataframe, r.error is not None) for r in results_of),
        list(plan.swept), benchmark.metric, benchmark.mode, plan.max_epochs)
    if budget_stopped:
        table.loc[table["trial"].isin(budget_stopped), "outcome"] = STOPPED_BY_BUDGET
    results = session.experiment_path / RESULTS_FILE
    table.to_csv(results, index=False)
    tracker.log_artifact(parent, results)
    say("\nTrials (best first):\n" + shown(table))
    if (unfinished and not session.budget_reached) or INTERRUPTED.is_set():  # Tune returns early when interrupted
        raise interrupted(session, f"{len(unfinished)} " if unfinished else "")
    if table.empty or table[benchmark.metric].isna().all():
        first_error = next((r.error for r in grid if r.error is not None), None)
        raise TunebenchError(f"no trial reported {benchmark.metric}"
                             + (f"; first error: {str(first_error).strip().splitlines()[-1]}" if first_error else "")
                             + ("; the time budget ended the search before a trial finished an epoch (give it "
                                "more time)" if session.budget_reached else ""))
    if plan.multi_objective:
        write_front(session, results_of)
    tracker.set_tags(parent, {f"{Tag.BEST_PREFIX}{key}": table[key].iloc[0] for key in plan.swept})
    test = evaluate_best(session, grid)
    tracker.log_metrics(parent, {**trial_totals(tracker.trials_of(session.experiment_id, parent)),
                                 **({k: v for k, v in test.items() if k.startswith("test_")} if test else {})})
    if session.options.test == "all":
        scores = pd.DataFrame(score_trials(session, grid, session.experiment_path / TEST_FOLDER))
        tests = [c for c in scores if c.startswith("test_")]
        if tests:
            table = table.merge(scores[["trial", *tests]], on="trial", how="left")
            table.to_csv(results, index=False)
            tracker.log_artifact(parent, results)
            say(f"\nevery trial on the test split ({len(scores)}):\n" + shown(table))
    best = table.iloc[0]
    say("\n" + reference_line(benchmark, {**plan.config, **{key: best[key] for key in plan.swept}},
                              {**best.dropna().to_dict(), **(test or {})}))
    console.closing(f"\nresults: {results}\nMLflow:  tunebench ui --tracking-uri {session.options.tracking_uri}")
    return "FINISHED"


SHOWN_ROWS = 10
LEFT_OUT = ("val_macro_recall", "val_macro_f1")  # in results.csv, not on the screen
PARETO_FILE = "pareto_front.csv"
PARETO_PLOT = "pareto_front.png"


def write_front(session: SearchSession, results: list) -> pd.DataFrame:
    """A search of several objectives: the Pareto front of its trials over them, each trial at the values of its
    last result (what its searcher was told; errored trials told none), printed, written to pareto_front.csv with
    its plot pareto_front.png, both on the parent run. Returns the front."""
    from tunebench import plots
    from tunebench.reports import describe_objectives, pareto_front

    plan, say = session.plan, session.say
    metrics = [metric for metric, _ in plan.objectives]
    trials = pd.DataFrame([{"trial": _trial_id(r), **{key: (r.config or {}).get(key) for key in plan.swept},
                            **{metric: (r.metrics or {}).get(metric) for metric in metrics}}
                           for r in results if r.error is None], columns=["trial", *plan.swept, *metrics])
    front = pareto_front(trials, plan.objectives)
    folder = session.experiment_path
    front.to_csv(folder / PARETO_FILE, index=False)
    plots.pareto_front(trials, list(plan.objectives), folder / PARETO_PLOT)
    for name in (PARETO_FILE, PARETO_PLOT):
        session.tracker.log_artifact(session.parent, folder / name)
    aims = describe_objectives(plan.objectives)
    if front.empty:
        say(f"\nPareto front over {aims}: no trial reported every objective")
        return front
    more = f"\n... {len(front) - SHOWN_ROWS} more in {PARETO_FILE}" if len(front) > SHOWN_ROWS else ""
    say(f"\nPareto front over {aims}: {len(front)} of {len(trials)} trials\n(the trials no other trial matches in "
        f"every objective and beats in one)\n"
        + front.head(SHOWN_ROWS).to_string(index=False, float_format="%.4g") + more)
    return front


def shown(table: pd.DataFrame) -> str:
    """The trials table as printed: the first rows and the columns that fit a terminal (results.csv has all)."""
    rows = table.head(SHOWN_ROWS).drop(columns=[c for c in LEFT_OUT if c in table])
    more = f"\n... {len(table) - SHOWN_ROWS} more in results.csv" if len(table) > SHOWN_ROWS else ""
    return rows.to_string(index=False, float_format="%.4g") + more


def end_at_budget(session: SearchSession, grid, unfinished: list) -> list[str]:
    """Ray Tune's time budget stops the running trials without their callbacks: end their MLflow runs as finished
    (best figures, outcome "stopped by the time budget") and tell the searcher, as a completed trial would. So too
    a trial whose last epoch was being checkpointed as the budget ran out (it reported done; its run is still
    RUNNING). Trials that never started were only created: the searcher learns they were pruned; they have no run.
    Returns the ids of the unfinished trials the budget stopped."""
    tracker, waiting = session.tracker, {id(r) for r in unfinished}
    runs = tracker.trial_runs(session.experiment_id, session.parent, session.part)
    stopped = []
    for result in grid:
        trial, history = _trial_id(result), result.metrics_dataframe
        run = runs.get(trial)
        if result.error is not None or not (id(result) in waiting or (run and run.info.status == "RUNNING")):
            continue  # ended through Tune's callbacks
        reported = history is not None and not history.empty
        if session.searcher is not None:
            session.searcher.on_trial_complete(trial, result=result.metrics if reported else None)
        if run is None:
            continue
        outcome = STOPPED_BY_BUDGET
        if id(result) in waiting:
            stopped.append(trial)
        else:
            outcome = trial_outcome(result.metrics, session.plan.max_epochs)
        best = {f"best_{key}": float(history[key].agg(better.__name__))
                for key, better in BEST_OF.items() if reported and key in history}
        tracker.log_batch(run.info.run_id, metrics=best, tags={Tag.OUTCOME: outcome,
                                                               Tag.EPOCHS_RUN: (result.metrics or {}).get("epoch", 0)})
        if run.info.status == "RUNNING":
            tracker.end_run(run.info.run_id, "FINISHED")
    never = len(unfinished) - len(stopped)
    session.say(f"\ntime budget of {duration(session.options.time_budget_s)} reached: {len(stopped)} running trials "
                f"stopped" + (f", {never} never started" if never else ""))
    return stopped


def _trial_id(result) -> str:
    return Path(result.path).name.removeprefix("trial_")


def reference_line(benchmark, config: dict[str, Any], scores: dict[str, Any]) -> str:
    """The report's row that ran the best trial's configuration, its figures beside this search's scores (the best
    trial's val figures, the test split's)."""
    from tunebench.references import headline, match_reference

    if not benchmark.reference:
        return f"report: none (no report ran {benchmark.name} on {benchmark.dataset})"
    reference = match_reference(benchmark.reference, config)
    if reference is None:
        return "report: no matching report row (the report never ran this configuration)"
    key = headline(reference.figures)
    ours = scores.get(key) if key else None
    figures = ", ".join(f"{k} {v:.4g}" for k, v in reference.figures.items() if isinstance(v, (int, float)))
    return (f"report row {reference.row}: {figures}"
            + (f"; this search's {key} {ours:.4g} ({ours - reference.figures[key]:+.4f})" if ours is not None else ""))


def score_trials(session: SearchSession, grid, folder: Path) -> list[dict[str, Any]]:
    """Every trial at its best-validation checkpoint on the test split (`tunebench search --test all`, a study's
    rows): per trial its config, figures at its best epoch, test loss / accuracy / macro recall / F1 and model
    size; its per-image predictions and per-class report written to `folder` and logged, with the test figures,
    on the trial's MLflow run."""
    benchmark, splits, tracker = session.benchmark, session.splits, session.tracker
    runs = tracker.trial_runs(session.experiment_id, session.parent, session.part)
    folder.mkdir(parents=True, exist_ok=True)
    scored = []
    for result in grid:
        trial = _trial_id(result)
        run = runs.get(trial)
        row = {"trial": trial, "run_id": run.info.run_id if run else None, "config": dict(result.config or {}),
               "errored": result.error is not None,
               **trial_figures(result.metrics_dataframe, benchmark.metric, benchmark.mode)}
        checkpoint = result.get_best_checkpoint(benchmark.metric, benchmark.mode) \
            if "best_epoch" in row and result.best_checkpoints else None
        if checkpoint is not None and splits.test:
            test = _evaluate(session, checkpoint, result.config)
            predictions = folder / f"{trial}_predictions.csv"
            _write_test(session, test, predictions, folder / f"{trial}_classification.csv",
                        run.info.run_id if run else None)
            row.update({k: v for k, v in test.items() if k.startswith("test_") or k == "model_mb"})
            row["predictions"] = str(predictions)
            if run:
                tracker.log_batch(run.info.run_id, metrics={k: v for k, v in row.items()
                                                            if k.startswith("test_") or k == "model_mb"})
            if run and session.options.log_models:
                row["model_uri"] = log_model(session, checkpoint, result.config, run.info.run_id)
        scored.append(row)
    return scored


def evaluate_best(session: SearchSession, grid) -> dict[str, Any] | None:
    """Evaluate the best trial's best checkpoint on the test split; the predictions and scikit-learn's per-class
    report go to the parent run as CSV artifacts."""
    benchmark, splits, say = session.benchmark, session.splits, session.say
    best = _best_with_checkpoint(grid, benchmark.metric, benchmark.mode)
    checkpoint = best.get_best_checkpoint(benchmark.metric, benchmark.mode) if best else None
    if checkpoint is None or not splits.test:
        say("no checkpoint or no test images: test split not evaluated")
        return None
    say(f"\nevaluating the best trial ({best.metrics.get('trial_id')}) on {len(splits.test)} test images")
    test = _evaluate(session, checkpoint, best.config)
    folder = session.experiment_path
    _write_test(session, test, folder / PREDICTIONS_FILE, folder / CLASSIFICATION_FILE, session.parent)
    session.tracker.set_tags(session.parent, {Tag.BEST_TRIAL: best.metrics.get("trial_id"),
                                              Tag.BEST_CHECKPOINT: checkpoint.path})
    loss = f"loss {test['test_loss']:.4f}, " if "test_loss" in test else ""
    say(f"test: {loss}accuracy {test['test_acc']:.4f}, macro recall {test['test_macro_recall']:.4f}, "
        f"macro F1 {test['test_macro_f1']:.4f} (checkpoint of epoch {test['epoch']})")
    uri = log_model(session, checkpoint, best.config, session.parent, session.options.register_model)
    if uri:
        registered = f"; registered as {session.options.register_model}" if session.options.register_model else ""
        say(f"model: {uri}{registered} (mlflow.pytorch.load_model, or tunebench predict "
            f"{session.benchmark.name} IMAGES)")
    return test


def _best_with_checkpoint(grid, metric: str, mode: str):
    """The trial with the best epoch (Ray Tune's scope="all") among those with a checkpoint: a trial the time budget
    stopped may have reported an epoch whose checkpoint it had no time to write."""
    scored = [(history[metric].max() if mode == "max" else -history[metric].min(), i)
              for i, result in enumerate(grid) if result.best_checkpoints
              for history in [result.metrics_dataframe] if history is not None and metric in history]
    return grid[max(scored)[1]] if scored else None


def log_model(session: SearchSession, checkpoint, config: dict[str, Any], run_id: str,
              register_as: str | None = None) -> str | None:
    """The checkpoint's model logged on `run_id` as an MLflow PyTorch model (weights in a Classifier: images in,
    class probabilities out) with its class names and preprocessing; None for a trainer with no PyTorch model."""
    exported = session.trainable.export_model(checkpoint, config, session.splits)
    if exported is None:
        return None
    module, example, preprocessing = exported
    metadata = {"classes": list(session.splits.classes), "preprocessing": preprocessing,
                "benchmark": session.benchmark.name, "dataset": session.splits.name,
                "output": "probability of each class, in the order of classes",
                "config": {k: v for k, v in config.items() if isinstance(v, (str, int, float, bool)) or v is None}}
    try:
        return session.tracker.log_model(run_id, module, example.numpy(), module(example).detach().numpy(), metadata,
                                         register_as)
    except Exception as exc:  # the search's records are complete: a model MLflow refuses is a warning, not a failure
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        session.say(f"warning: model not logged on run {run_id}: {type(exc).__name__}: {message}")
        return None


def _write_test(session: SearchSession, test: dict[str, Any], predictions_path: Path, classification_path: Path,
                run_id: str | None) -> None:
    """A test evaluation's per-image predictions (file, true and predicted class, confidence, every class's
    probability) and scikit-learn's per-class report, as CSVs logged on `run_id`; the labels leave `test`."""
    splits = session.splits
    files = [key if isinstance(key, str) else f"#{key}" for key, _ in splits.test]
    predictions = predictions_table(files, splits.classes, test.pop("targets"), test.pop("predictions"),
                                    test.pop("probabilities", None))
    predictions.to_csv(predictions_path, index=False)
    classification_table(predictions["true"], predictions["predicted"]).to_csv(classification_path, index=False)
    for path in (predictions_path, classification_path) if run_id else ():
        session.tracker.log_artifact(run_id, path)


def _evaluate(session: SearchSession, checkpoint, config: dict[str, Any]) -> dict[str, Any]:
    """On a worker with a trial's resources when trials run on GPUs or a cluster; on a local CPU-only Ray in this
    process, which has the code imported and the data loaded where a worker would start cold."""
    import ray

    evaluate = session.trainable.evaluate_checkpoint
    cpus, gpus = session.resources
    if session.options.address is None and gpus == 0:
        return evaluate(checkpoint, config, session.splits)
    return ray.get(ray.remote(num_cpus=cpus, num_gpus=gpus)(evaluate).remote(checkpoint, config, session.splits))

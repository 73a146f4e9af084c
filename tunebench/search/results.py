"""After Tuner.fit: the results table, the best trial on the test split, the parent run's summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tunebench import TunebenchError
from tunebench.reports import classification_table, reference_table, search_summary, trials_table
from tunebench.signals import INTERRUPTED
from tunebench.tracking import Tag

if TYPE_CHECKING:
    from tunebench.search.session import SearchSession

RESULTS_FILE = "results.csv"
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
    table = trials_table(
        ((Path(r.path).name.removeprefix("trial_"), r.config or {}, r.metrics_dataframe, r.error is not None)
         for r in grid), list(plan.swept), benchmark.metric, benchmark.mode, plan.max_epochs)
    results = session.experiment_path / RESULTS_FILE
    table.to_csv(results, index=False)
    tracker.log_artifact(parent, results)
    say("\nTrials (best first):\n" + table.head(10).to_string(index=False, float_format="%.4g"))
    # a trial that completed or that the scheduler stopped reported done; Ctrl-C leaves the others without it
    unfinished = [r for r in grid if r.error is None and not (r.metrics or {}).get("done")]
    if unfinished or INTERRUPTED.is_set():  # Tune returns early when interrupted (Ctrl-C, SIGTERM)
        raise interrupted(session, f"{len(unfinished)} " if unfinished else "")
    if table.empty or table[benchmark.metric].isna().all():
        first_error = next((r.error for r in grid if r.error is not None), None)
        raise TunebenchError(f"no trial reported {benchmark.metric}"
                             + (f"; first error: {str(first_error).strip().splitlines()[-1]}" if first_error else ""))
    tracker.set_tags(parent, {f"{Tag.BEST_PREFIX}{key}": table[key].iloc[0] for key in plan.swept})
    test = evaluate_best(session, grid)
    tracker.log_metrics(parent, {**search_summary(table, benchmark.metric),
                                 **({k: v for k, v in test.items() if k.startswith("test_")} if test else {})})
    if benchmark.reference:
        say("\nReport's reference results (test accuracy):\n" + reference_table(
            benchmark.reference, test["test_acc"] if test else None).to_string(index=False, float_format="%.3f"))
    say(f"\nresults: {results}\nMLflow:  mlflow ui --backend-store-uri {session.options.tracking_uri}")
    return "FINISHED"


def evaluate_best(session: SearchSession, grid) -> dict[str, Any] | None:
    """Evaluate the best trial's best checkpoint on the test split; the predictions and scikit-learn's per-class
    report go to the parent run as CSV artifacts."""
    benchmark, splits, say = session.benchmark, session.splits, session.say
    best = grid.get_best_result(benchmark.metric, benchmark.mode, scope="all")
    checkpoint = best.get_best_checkpoint(benchmark.metric, benchmark.mode)
    if checkpoint is None or not splits.test:
        say("no checkpoint or no test images: test split not evaluated")
        return None
    say(f"\nevaluating the best trial ({best.metrics.get('trial_id')}) on {len(splits.test)} test images")
    test = _evaluate(session, checkpoint, best.config)
    predictions = pd.DataFrame({"true": [splits.classes[i] for i in test.pop("targets")],
                                "predicted": [splits.classes[i] for i in test.pop("predictions")]})
    folder = session.experiment_path
    predictions.to_csv(folder / PREDICTIONS_FILE, index=False)
    classification_table(predictions["true"], predictions["predicted"]).to_csv(folder / CLASSIFICATION_FILE,
                                                                               index=False)
    for artifact in (PREDICTIONS_FILE, CLASSIFICATION_FILE):
        session.tracker.log_artifact(session.parent, folder / artifact)
    session.tracker.set_tags(session.parent, {Tag.BEST_TRIAL: best.metrics.get("trial_id"),
                                              Tag.BEST_CHECKPOINT: checkpoint.path})
    loss = f"loss {test['test_loss']:.4f}, " if "test_loss" in test else ""
    say(f"test: {loss}accuracy {test['test_acc']:.4f}, macro recall {test['test_macro_recall']:.4f}, "
        f"macro F1 {test['test_macro_f1']:.4f} (checkpoint of epoch {test['epoch']})")
    return test


def _evaluate(session: SearchSession, checkpoint, config: dict[str, Any]) -> dict[str, Any]:
    """On a worker with a trial's resources when trials run on GPUs or a cluster; on a local CPU-only Ray in this
    process, which has the code imported and the data loaded where a worker would start cold."""
    import ray

    evaluate = session.trainable.evaluate_checkpoint
    cpus, gpus = session.resources
    if session.options.address is None and gpus == 0:
        return evaluate(checkpoint, config, session.splits)
    return ray.get(ray.remote(num_cpus=cpus, num_gpus=gpus)(evaluate).remote(checkpoint, config, session.splits))

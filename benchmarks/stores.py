"""MLflow stores in the shape tunebench writes, of any size, for benchmarks/scale.py.

`write_searches` records searches through tunebench's own Tracker as a search does: a parent run per search with
its params and tags (benchmark, search, scheduler, dataset, metric, ...), one nested run per trial with its config
as params, its metrics every epoch (trials.EPOCH_METRICS), its best values, outcome and epochs run, then the parent's
totals (reports.trial_totals) and best hyperparameters. MLflow's client writes ~11 runs a second here, so a
50k-run store would take over an hour: `grow` copies every run of a written store N times inside the SQLite file
(new run ids, parents and run names remapped, every row of every table keyed by run), which keeps the shape exactly.

Usage: .venv/bin/python benchmarks/stores.py FOLDER --trial-runs 1000 10000 50000
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# benchmarks of the shipped registry the generated searches are spread over, with the keys their searches sweep
SWEPT = {"alexnet-caltech": ("lr", "step_size", "weight_decay", "gamma"),
         "cnn-catsdogs": ("conv_1_filter", "dropout_1", "dense_1_units", "optimizer"),
         "resnet50-artworks": ("lr", "gamma", "freeze_depth"),
         "cnn-cifar10": ("lr", "weight_decay", "dropout_1", "base_filters")}
VERSION = "stores-v2"  # bump when the shape changes: cached stores of another version are rebuilt


def write_searches(uri: str, searches: int = 16, trials: int = 16, epochs: int = 5, seed: int = 0) -> None:
    """`searches` searches of `trials` trials each, spread over the SWEPT benchmarks, recorded through Tracker."""
    from search_spaces import BENCHMARKS
    from tunebench.reports import trial_totals
    from tunebench.tracking import Tag, Tracker
    from tunebench.trials import COMPLETED, STOPPED_BY_SCHEDULER, best_so_far

    rng = random.Random(seed)
    tracker = Tracker(uri)
    for number in range(searches):
        name = list(SWEPT)[number % len(SWEPT)]
        benchmark, swept = BENCHMARKS[name], SWEPT[name]
        experiment = tracker.experiment_id(name)
        search_name = f"search-{number:04d}"
        config = {**benchmark.defaults, "model": benchmark.model, "epochs": epochs}
        parent = tracker.start_run(
            experiment, search_name,
            {**{k: v for k, v in config.items() if k not in swept}, "swept": ",".join(swept), "search": "optuna",
             "scheduler": "asha", "num_samples": trials, "cpus_per_trial": 1, "gpus_per_trial": 0, "smoke": False},
            {Tag.BENCHMARK: name, Tag.SEARCH: "optuna", Tag.SCHEDULER: "asha", Tag.GIT_COMMIT: "0" * 40,
             Tag.VERSION: "0.0", Tag.SEED_REPORT: benchmark.seed_report, Tag.RAY_EXPERIMENT: f"/tmp/{search_name}",
             Tag.SMOKE: False, Tag.DATASET: benchmark.dataset, Tag.METRIC: benchmark.metric, Tag.MODE: benchmark.mode,
             Tag.NOTE: f"optuna search over {', '.join(swept)}"})
        best_values, best_metric = {}, None
        for index in range(trials):
            values = {key: rng.choice(list(benchmark.grid.get(key) or [config[key]])) for key in swept}
            run = tracker.start_run(experiment, f"{search_name}-{index + 1:03d}", {**config, **values},
                                    {Tag.PARENT: parent, Tag.TRIAL: f"{uuid.uuid4().hex[:5]}_{index:05d}",
                                     Tag.NOTE: ", ".join(f"{k}={v}" for k, v in values.items())})
            ran = epochs if rng.random() < 0.4 else rng.randint(1, epochs)
            best: dict[str, float] = {}
            for epoch in range(1, ran + 1):
                acc = min(0.99, rng.uniform(0.2, 0.6) + 0.05 * epoch)
                metrics = {"train_loss": 2.0 / epoch, "train_acc": acc + 0.05, "val_loss": 2.2 / epoch, "val_acc": acc,
                           "val_macro_recall": acc - 0.02, "val_macro_f1": acc - 0.03, "lr": 0.01,
                           "trainable_params": 5.7e7, "stage": 1, "epoch_time_s": rng.uniform(20, 40),
                           "images_per_s": rng.uniform(90, 120), "data_wait_frac": rng.uniform(0, 0.1)}
                tracker.log_metrics(run, metrics, step=epoch)
                best = best_so_far(best, metrics)
            outcome = COMPLETED if ran == epochs else STOPPED_BY_SCHEDULER
            tracker.log_batch(run, metrics=best, tags={Tag.OUTCOME: outcome, Tag.EPOCHS_RUN: ran})
            tracker.end_run(run)
            figure = best.get(f"best_{benchmark.metric}")
            if figure is not None and (best_metric is None or (figure < best_metric if benchmark.mode == "min"
                                                               else figure > best_metric)):
                best_values, best_metric = values, figure
        tracker.set_tags(parent, {f"{Tag.BEST_PREFIX}{key}": value for key, value in best_values.items()})
        tracker.log_metrics(parent, {**trial_totals(tracker.trials_of(experiment, parent)),
                                     "test_acc": rng.uniform(0.5, 0.9)})
        tracker.end_run(parent)


def _run_tables(db: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    """Every table with a run_uuid column, and its columns."""
    tables = [row[0] for row in db.execute("select name from sqlite_master where type='table'")]
    found = []
    for table in tables:
        columns = [row[1] for row in db.execute(f"pragma table_info('{table}')")]
        if "run_uuid" in columns:
            found.append((table, columns))
    return found


def grow(path: Path, copies: int) -> int:
    """Every run of the SQLite store at `path` copied `copies` times (new ids; a trial's parent is its search's copy;
    names get a -cN suffix). Returns the number of runs now in the store."""
    db = sqlite3.connect(path)
    originals = [row[0] for row in db.execute("select run_uuid from runs")]
    tables = _run_tables(db)
    db.execute("create temp table copy_map (old text primary key, new text)")
    for copy in range(1, copies + 1):
        db.execute("delete from copy_map")
        db.executemany("insert into copy_map values (?, ?)", [(old, uuid.uuid4().hex) for old in originals])
        for table, columns in tables:
            chosen = ", ".join("m.new" if c == "run_uuid" else
                               (f"t.name || '-c{copy}'" if (table, c) == ("runs", "name") else f"t.{c}")
                               for c in columns)
            db.execute(f"insert into {table} ({', '.join(columns)}) select {chosen} from {table} t "
                       f"join copy_map m on t.run_uuid = m.old")
        db.execute("update tags set value = (select new from copy_map where old = tags.value) "
                   "where key = 'mlflow.parentRunId' and run_uuid in (select new from copy_map)")
        db.execute(f"update tags set value = value || '-c{copy}' "
                   "where key = 'mlflow.runName' and run_uuid in (select new from copy_map)")
    db.commit()
    count = db.execute("select count(*) from runs").fetchone()[0]
    db.close()
    return count


def trial_runs(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("select count(*) from tags where key = 'mlflow.parentRunId'").fetchone()[0]


def build(folder: Path, sizes: list[int], base_searches: int = 16, trials: int = 16) -> dict[int, Path]:
    """Stores of about each size in trial runs, in `folder` (store-<size>.db): one written through the client, each
    size a copy of it grown by SQL. Stores already there of the same VERSION are kept (they take minutes)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "store-base.db"
    marker = folder / "VERSION"
    wanted = f"{VERSION} {base_searches}x{trials}"
    if not (marker.exists() and marker.read_text() == wanted and base.exists()):
        for old in folder.glob("store-*.db"):
            old.unlink()
        write_searches(f"sqlite:///{base}", searches=base_searches, trials=trials)
        marker.write_text(wanted)
    stores = {}
    for size in sizes:
        path = folder / f"store-{size}.db"
        if not path.exists():
            partial = path.with_suffix(".partial")
            shutil.copyfile(base, partial)
            grow(partial, max(0, round(size / (base_searches * trials)) - 1))
            partial.rename(path)
        stores[size] = path
    return stores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--trial-runs", type=int, nargs="+", default=[1000])
    args = parser.parse_args()
    start = time.perf_counter()
    for size, path in build(args.folder, args.trial_runs).items():
        print(f"{path}: {trial_runs(path)} trial runs")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

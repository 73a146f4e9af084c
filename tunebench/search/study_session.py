"""A study session (`tunebench study NAME`): a report's tables run as Ray Tune trials on the search machinery, every
row scored on the test split at its best-validation checkpoint, the tables written beside the report's figures.

The tables run in waves: a wave is every table whose carried winners are known. Its rows' configurations that have
not run yet are grouped into parts, one Tuner each (one trainer, metric and dataset split: report 003's AlexNet,
ResNet50 and VGG16 rows share one); a search table is a part of its own. A configuration runs once, however many tables list it. One MLflow parent run per study (experiment
"study <name>") with every row's run nested under it. A part's state is in <storage>/<study run>/<part>/: a part
with rows.json is done, one without continues from Ray Tune's state when the study resumes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import tunebench
from tunebench import TunebenchError, console
from tunebench.benchmark import Benchmark
from tunebench.search.cluster import init_ray, new_run_folder
from tunebench.search.options import SearchOptions
from tunebench.search.plan import SearchPlan, plan_search
from tunebench.search.session import SearchSession, git_commit, open_stores
from tunebench.signals import INTERRUPTED
from tunebench.study import Row, Study, Table, carried, config_key, row_config, winner
from tunebench.tracking import Tag, Tracker
from tunebench.trials import ROWS_KEY

STUDY_FILE = "tunebench_study.json"
ROWS_FILE = "rows.json"


@dataclass
class Part:
    """One Tuner run of a study: configurations that train alike (one trainer, metric and dataset split), or a
    search table."""

    benchmark: Benchmark             # the first row's: the trainer, dataset and metric every row shares
    points: list[dict[str, Any]]     # whole configs, each with its row labels under ROWS_KEY
    table: Table | None = None       # a search table's

    @property
    def id(self) -> str:
        if self.table is not None:
            return f"{self.table.id}-search"
        digest = hashlib.sha1("\n".join(sorted(config_key(p) for p in self.points)).encode()).hexdigest()
        return f"{self.benchmark.name}-{digest[:10]}"


@dataclass
class StudySession:
    study: Study
    benchmarks: dict[str, Benchmark]
    options: SearchOptions
    folder: Path                     # <storage>/<study run>: the study file and one folder per part
    tracker: Tracker
    say: Callable[[str], None] = console.say
    resumed: bool = False
    experiment_id: str = ""
    parent: str = ""
    resources: tuple[float, float] = field(default=(1.0, 0.0), init=False)
    splits: dict[tuple, Any] = field(default_factory=dict, init=False)   # data key -> ImageSplits, shared by parts
    scores: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)  # config key -> scored trial
    best: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)    # search table id -> best trial

    @classmethod
    def start(cls, study: Study, benchmarks: dict[str, Benchmark], options: SearchOptions,
              say: Callable[[str], None] = console.say) -> StudySession:
        tracker = open_stores(options)
        folder = new_run_folder(options, f"{study.name}-study", STUDY_FILE, "study")
        return cls(study, benchmarks, options, folder, tracker, say)

    @classmethod
    def resume(cls, study: Study, benchmarks: dict[str, Benchmark], options: SearchOptions,
               say: Callable[[str], None] = console.say) -> StudySession:
        storage = options.storage_path.expanduser().resolve()
        folder, saved = _find_study(study, storage, options.name)
        options = replace(options, tracking_uri=saved["tracking_uri"], data_dir=Path(saved["data_dir"]),
                          smoke=saved["smoke"], seed=saved["seed"],
                          log_models=options.log_models or saved.get("log_models", False))
        return cls(study, benchmarks, options, folder, open_stores(options), say, True, saved["experiment_id"],
                   saved["parent_run_id"])

    # --- running ---------------------------------------------------------------------------------------------

    def run(self, output: Path) -> dict[str, Any]:
        """Every table, then the files in `output` (also on the study's MLflow run); returns the tables by id."""
        from tunebench.study_tables import screen_text, write_study

        self.resources = init_ray(self.options)
        self._open_parent_run()
        status = "FAILED"
        try:
            self.say(f"study {self.study.name} (report {self.study.seed_report}): {len(self.study.tables)} tables; "
                     f"MLflow run {self.parent} in experiment '{self._experiment}' at {self.options.tracking_uri}")
            results, winners = self._run_tables()
            frames = write_study(self.study, self.benchmarks, results, winners, output, smoke=self.options.smoke)
            self.tracker.log_artifacts(self.parent, output, "study")
            for table in self.study.tables:
                self.say("\n" + screen_text(table, frames[table.id]))
            self.say(f"\ntables: {output / 'study.md'} (and .html, one .csv and .md per table)")
            status = "FINISHED"
            return frames
        except KeyboardInterrupt:
            status = "KILLED"
            raise self._interrupted() from None
        except TunebenchError as exc:
            status = "KILLED" if exc.exit_code == 130 else status
            raise
        finally:
            self.tracker.close_running(self.experiment_id, self.parent)
            self.tracker.end_run(self.parent, status)

    def _run_tables(self) -> tuple[dict[str, list], dict[str, dict[str, Any]]]:
        """Every table's rows as they ran, and each table's winning values (what keep-the-best tables carried)."""
        from tunebench.study_tables import RowResult

        done: dict[str, list[RowResult]] = {}
        winners: dict[str, dict[str, Any]] = {}
        pending = list(self.study.tables)
        while pending:
            ready = [t for t in pending if all(c in done for c in t.carry)]
            rows = {t.id: self._table_rows(t, winners) for t in ready if t.search is None}
            for part in self._parts(ready, rows):
                self._run_part(part)
            for table in ready:
                if table.search is not None:
                    best = self.best[table.id]
                    done[table.id] = [RowResult(table.rows[0], table.benchmark, best["config"], best)]
                else:
                    done[table.id] = [RowResult(row, benchmark.name, config, self.scores.get(config_key(config), {}))
                                      for row, benchmark, config in rows[table.id]]
                metric, mode = self.benchmarks[table.benchmark].metric, self.benchmarks[table.benchmark].mode
                try:
                    winners[table.id] = winner(table, [(r.row, r.scores.get(metric)) for r in done[table.id]], mode)
                except ValueError:
                    if any(table.id in t.carry for t in pending):
                        raise TunebenchError(f"{self.study.name} {table.id}: no row finished, so the tables that "
                                             f"keep its best value cannot run") from None
                pending.remove(table)
        return done, winners

    def _table_rows(self, table: Table, winners: dict[str, dict[str, Any]]) -> list[tuple[Row, Benchmark, dict]]:
        values = carried(table, winners)
        found = []
        for row in table.rows:
            benchmark = self.benchmarks[row.benchmark or table.benchmark]
            config = row_config(benchmark, table, row, values, smoke=self._smoke, seed=self.options.seed)
            if "frozen_epochs" in benchmark.defaults:
                config["test_each_stage"] = True  # two-stage rows: the test split at the end of each stage
            found.append((row, benchmark, config))
        return found

    def _parts(self, tables: list[Table], rows: dict[str, list]) -> list[Part]:
        groups: dict[tuple, dict[str, dict[str, Any]]] = {}
        benchmarks: dict[tuple, Benchmark] = {}
        for table in tables:
            for row, benchmark, config in rows.get(table.id, []):
                key = config_key(config)
                if key in self.scores:
                    continue
                # rows of benchmarks that train alike on the same data run in one Tuner (the model is in the config)
                group = (benchmark.trainer, benchmark.dataset, config.get("split"), config.get("limit_per_class"),
                         benchmark.metric, benchmark.mode)
                benchmarks.setdefault(group, benchmark)
                point = groups.setdefault(group, {}).setdefault(key, {**config, ROWS_KEY: ""})
                label = f"{table.id} {row.label}"
                point[ROWS_KEY] = f"{point[ROWS_KEY]}; {label}" if point[ROWS_KEY] else label
        parts = [Part(benchmarks[group], list(points.values())) for group, points in groups.items()]
        return parts + [Part(self.benchmarks[t.benchmark], [], t) for t in tables if t.search is not None]

    def _run_part(self, part: Part) -> None:
        from tunebench.search.results import score_trials

        folder = self.folder / part.id
        saved = folder / ROWS_FILE
        if saved.is_file():
            scored = json.loads(saved.read_text())
        else:
            options, plan = self._part_plan(part)
            session = SearchSession(part.benchmark, options, plan, folder, self.tracker, self.say, part=part.id)
            session.experiment_id, session.parent, session.resources = self.experiment_id, self.parent, self.resources
            data = (part.benchmark.dataset, plan.config.get("split"), plan.config.get("limit_per_class"))
            session.prepare(self.splits.get(data))
            self.splits[data] = session.splits
            rows = f"{len(part.points)} rows" if part.table is None else f"{part.table.id}'s search"
            self.say(f"\n{part.id}: {rows}, up to {plan.max_epochs} epochs each")
            grid = session.fit()
            unfinished = [r for r in grid if r.error is None and not (r.metrics or {}).get("done")]
            if unfinished or INTERRUPTED.is_set():
                raise self._interrupted()
            scored = score_trials(session, grid, folder / "test")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{ROWS_FILE}.tmp").write_text(json.dumps(scored, default=str))
            (folder / f"{ROWS_FILE}.tmp").replace(saved)  # whole or absent: a part is done exactly when it exists
        if part.table is not None:
            metric, mode = part.benchmark.metric, part.benchmark.mode
            ranked = sorted((s for s in scored if s.get(metric) is not None),
                            key=lambda s: s[metric], reverse=(mode == "max"))
            self.best[part.table.id] = ranked[0] if ranked else {"config": {}}
        for score in scored:
            self.scores[config_key(score["config"])] = score

    def _part_plan(self, part: Part) -> tuple[SearchOptions, SearchPlan]:
        """A part's options and plan: its rows as the points of a `rows` search, or the table's search."""
        device = {"data_pipeline": self.options.data_pipeline, **asdict(self.options.accel.on(self.resources[1] > 0))}
        if part.table is not None:
            table, smoke = part.table, self._smoke or {}
            fixed = {**table.base, **{k: v for k, v in smoke.items() if k in part.benchmark.defaults}}
            options = replace(self.options, search=table.search.search, scheduler="fifo",
                              num_samples=table.search.smoke_samples if self.options.smoke else table.search.num_samples,
                              max_epochs=smoke.get("max_epochs") if self.options.smoke else table.max_epochs,
                              overrides={k: [v] for k, v in fixed.items()})
            plan = plan_search(part.benchmark, options)
            plan.config.update(device, **{ROWS_KEY: f"{table.id} search"})  # its trials' runs: the table's search
            return options, plan
        points = [{**point, **device} for point in part.points]
        swept = {}
        for key in dict.fromkeys(k for p in points for k in p):  # rows of several benchmarks differ in keys
            values = list(dict.fromkeys(json.dumps(p.get(key), default=str) for p in points))
            if key != ROWS_KEY and len(values) > 1:
                swept[key] = [json.loads(v) for v in values]
        config = {k: v for k, v in points[0].items() if k != ROWS_KEY}
        plan = SearchPlan(config, swept, "rows", "fifo", len(points), max(p["epochs"] for p in points), points)
        return replace(self.options, search="rows", scheduler="fifo"), plan

    @property
    def _smoke(self) -> dict[str, Any] | None:
        return dict(self.study.smoke) if self.options.smoke else None

    # --- records ---------------------------------------------------------------------------------------------

    @property
    def _experiment(self) -> str:
        return f"study {self.study.name}"

    def _open_parent_run(self) -> None:
        from tunebench.signals import deferred_signals

        if self.resumed:
            self.tracker.client.update_run(self.parent, status="RUNNING")
            self.tracker.close_running(self.experiment_id, self.parent)
            self.say(f"resuming study {self.folder.name}: finished parts are kept, the others continue")
            return
        self.experiment_id = self.tracker.experiment_id(self._experiment)
        options = self.options
        with deferred_signals():  # the study's run exists exactly when its file does
            self.parent = self.tracker.start_run(
                self.experiment_id, self.folder.name,
                {"study": self.study.name, "smoke": options.smoke, "seed": options.seed, "data_dir": options.data_dir,
                 "tables": ",".join(t.id for t in self.study.tables)},
                {Tag.STUDY: self.study.name, Tag.SEED_REPORT: self.study.seed_report, Tag.SMOKE: options.smoke,
                 Tag.GIT_COMMIT: git_commit(), Tag.VERSION: tunebench.__version__,
                 Tag.RAY_EXPERIMENT: str(self.folder)})
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / STUDY_FILE).write_text(json.dumps(
                {"study": self.study.name, "parent_run_id": self.parent, "experiment_id": self.experiment_id,
                 "tracking_uri": options.tracking_uri, "data_dir": str(options.data_dir), "smoke": options.smoke,
                 "seed": options.seed, "log_models": options.log_models}, indent=1))

    def _interrupted(self) -> TunebenchError:
        return TunebenchError(
            f"interrupted: unfinished rows marked KILLED in MLflow; finished parts are kept in {self.folder}. "
            f"Continue with: tunebench study {self.study.name} --resume --name {self.folder.name}", exit_code=130)


def run_study(study: Study, benchmarks: dict[str, Benchmark], options: SearchOptions, output: Path,
              say: Callable[[str], None] = console.say) -> dict[str, Any]:
    """The study end to end (or resumed); its tables written in `output`, which is checked first."""
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TunebenchError(f"cannot write to --output {output}: {exc.strerror}") from None
    session = (StudySession.resume if options.resume else StudySession.start)(study, benchmarks, options, say)
    return session.run(output)


def _find_study(study: Study, storage: Path, name: str | None) -> tuple[Path, dict[str, Any]]:
    """The study run to resume (`name`, else this study's latest in storage) and its file's entries."""
    def read(path: Path) -> dict[str, Any]:
        try:
            saved = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TunebenchError(f"--resume: cannot read {path} ({type(exc).__name__}: {exc})") from None
        if not isinstance(saved, dict) or not {"study", "parent_run_id", "tracking_uri"} <= set(saved):
            raise TunebenchError(f"--resume: {path} is not a tunebench study file")
        return saved

    if name is None:
        files = sorted(storage.glob(f"*/{STUDY_FILE}"), key=lambda p: p.stat().st_mtime)
        mine = [p for p in files if read(p).get("study") == study.name]
        if not mine:
            raise TunebenchError(f"--resume: no study {study.name} in {storage} (give --name)")
        path = mine[-1]
    else:
        path = storage / name / STUDY_FILE
        if not path.is_file():
            raise TunebenchError(f"--resume: no study named '{name}' in {storage}")
    saved = read(path)
    if saved["study"] != study.name:
        raise TunebenchError(f"--resume: '{path.parent.name}' is a study {saved['study']}, not {study.name}")
    return path.parent, saved

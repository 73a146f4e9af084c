"""The search file: what a search was started with, saved beside Ray Tune's state (tunebench_search.json), so that
--resume finds the search, its MLflow runs and its data, and plans it again."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunebench import TunebenchError
from tunebench.benchmark import Benchmark
from tunebench.search.options import SAVED

if TYPE_CHECKING:
    from tunebench.search.session import SearchSession

SEARCH_FILE = "tunebench_search.json"


@dataclass
class SearchRecord:
    benchmark: str
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    data_dir: str
    config: dict[str, Any]           # the fixed config, with what the trials' device runs
    swept: list[str]
    num_samples: int
    max_epochs: int
    options: dict[str, Any] = field(default_factory=dict)  # options.SAVED (absent in tunebench 0.1.0's files)
    search: str = ""                 # 0.1.0 files: the plan's search and scheduler
    scheduler: str = ""

    @classmethod
    def of(cls, session: SearchSession) -> SearchRecord:
        plan, options = session.plan, session.options
        return cls(benchmark=session.benchmark.name, parent_run_id=session.parent,
                   experiment_id=session.experiment_id, tracking_uri=options.tracking_uri,
                   data_dir=str(options.data_dir), config=plan.config, swept=list(plan.swept),
                   num_samples=plan.num_samples, max_epochs=plan.max_epochs,
                   options={key: getattr(options, key) for key in SAVED}, search=plan.search,
                   scheduler=plan.scheduler)

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SEARCH_FILE).write_text(json.dumps(asdict(self), indent=1, default=str))

    @classmethod
    def read(cls, folder: Path) -> dict[str, Any]:
        """The file's entries; a damaged file is a one-line error naming it."""
        path = folder / SEARCH_FILE
        try:
            saved = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TunebenchError(f"--resume: cannot read {path} ({type(exc).__name__}: {exc})") from None
        if not isinstance(saved, dict):
            raise TunebenchError(f"--resume: {path} is not a tunebench search file")
        return saved

    @classmethod
    def load(cls, saved: dict[str, Any], path: Path) -> SearchRecord:
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in saved.items() if k in known})
        except TypeError:
            missing = sorted(f.name for f in fields(cls)
                             if f.name not in saved and f.default is MISSING and f.default_factory is MISSING)
            raise TunebenchError(f"--resume: {path} lacks {', '.join(missing) or 'entries'}: it is not a search "
                                 f"file tunebench wrote") from None


def find_search(benchmark: Benchmark, storage: Path, name: str | None) -> tuple[str, SearchRecord]:
    """The search to resume (`name`, else this benchmark's latest in storage) and its record."""
    if name is None:
        saved = sorted(storage.glob(f"*/{SEARCH_FILE}"), key=lambda p: p.stat().st_mtime)
        mine = [p.parent.name for p in saved if SearchRecord.read(p.parent).get("benchmark") == benchmark.name]
        if not mine:
            raise TunebenchError(f"--resume: no search of {benchmark.name} in {storage} (give --name)")
        name = mine[-1]
    if not (storage / name / SEARCH_FILE).is_file():
        raise TunebenchError(f"--resume: no search named '{name}' in {storage}")
    saved = SearchRecord.read(storage / name)
    if saved.get("benchmark") != benchmark.name:
        raise TunebenchError(f"--resume: '{name}' is a search of {saved.get('benchmark')}, not {benchmark.name}: "
                             f"continue it with tunebench search {saved.get('benchmark')} --resume --name {name}")
    return name, SearchRecord.load(saved, storage / name / SEARCH_FILE)

"""What earlier image checks found, so that a repeated search checks only new or changed files.

A verdict (readable, or why not) is remembered by the file's absolute path, size and modification time (ns): the
same three mean the same bytes, hence the same verdict. The store is one SQLite file in the cache folder
(`checked-images-v1.sqlite` under $TUNEBENCH_CACHE or ~/.cache/tunebench); SQLite's locking lets two searches
on one machine read and write it at once. It is only a memory: a store that cannot be opened, written or read
(locked too long, read-only, damaged) is worked without, and a damaged one is removed to be built again.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Iterable, Mapping

VERSION = 1  # of the check (images._problem): a change of what counts as unreadable starts a new store
BATCH = 500  # paths per query (SQLite's limit on parameters is 999 in old builds)
Stamp = tuple[int, int]  # (size, mtime_ns)


def cache_root() -> Path:
    """$TUNEBENCH_CACHE, else ~/.cache/tunebench (decoded images under images/, features under features/, this
    store beside them)."""
    return Path(os.environ.get("TUNEBENCH_CACHE") or Path.home() / ".cache" / "tunebench")


def store_path() -> Path:
    return cache_root() / f"checked-images-v{VERSION}.sqlite"


def stamps(paths: Iterable[str]) -> dict[str, Stamp]:
    """{path: (size, mtime_ns)} of the paths that can be stat'ed (a missing file has none: its check says why)."""
    found = {}
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            continue
        found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


class CheckedImages:
    """The remembered verdicts: recall() the ones still valid, remember() new ones."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or store_path()

    def recall(self, stamped: Mapping[str, Stamp]) -> dict[str, str | None]:
        """{path: None (readable) or the reason it is not} for the paths whose size and mtime match a verdict."""
        keys = {os.path.abspath(path): path for path in stamped}
        found: dict[str, str | None] = {}

        def read(db: sqlite3.Connection) -> None:
            ordered = list(keys)
            for start in range(0, len(ordered), BATCH):
                chunk = ordered[start:start + BATCH]
                rows = db.execute(f"SELECT path, size, mtime_ns, problem FROM checked WHERE path IN "
                                  f"({','.join('?' * len(chunk))})", chunk)
                for key, size, mtime_ns, problem in rows:
                    path = keys[key]
                    if stamped[path] == (size, mtime_ns):
                        found[path] = problem
        self._use(read)
        return found

    def remember(self, verdicts: Mapping[str, tuple[Stamp, str | None]]) -> None:
        """Store {path: ((size, mtime_ns), None or the reason)}; the stamps must be the ones taken before the check."""
        rows = [(os.path.abspath(path), size, mtime_ns, problem) for path, ((size, mtime_ns), problem)
                in verdicts.items()]
        if rows:
            self._use(lambda db: db.executemany("INSERT OR REPLACE INTO checked VALUES (?, ?, ?, ?)", rows))

    def _use(self, work) -> None:
        """Run work(db) in a transaction; a damaged store is removed and built again once, any other failure
        leaves this check without memory."""
        for attempt in (1, 2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(self.path, timeout=30)) as db, db:  # closed; committed or rolled back
                    db.execute("CREATE TABLE IF NOT EXISTS checked (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                               "mtime_ns INTEGER NOT NULL, problem TEXT)")
                    work(db)
                return
            except sqlite3.OperationalError:  # locked past the timeout, read-only, no room: not damage
                return
            except sqlite3.DatabaseError:  # "file is not a database", "database disk image is malformed"
                if attempt == 2:
                    return
                _remove(self.path)
            except OSError:  # the cache folder cannot be made
                return


def _remove(path: Path) -> None:
    for file in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal"),
                 path.with_name(path.name + "-shm")):
        try:
            file.unlink(missing_ok=True)
        except OSError:
            pass


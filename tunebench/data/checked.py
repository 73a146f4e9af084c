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
from typing import Iterable

VERSION = 1  # of the check (images._problem): a change of what counts as unreadable starts a new store
BATCH = 500  # paths per query (SQLite's limit on parameters is 999 in old builds)
Stamp = tuple[int, int]  # (size, mtime_ns)


def cache_root() -> Path:
    """$TUNEBENCH_CACHE, else ~/.cache/tunebench (decoded images under images/, features under features/, this
    store beside them)."""
    return Path(os.environ.get("TUNEBENCH_CACHE") or Path.home() / ".cache" / "tunebench")


def store_path() -> Path:
    return cache_root() / f"checked-images-v{VERSION}.sqlite"


def stamp(path: str) -> Stamp | None:
    """The file's (size, mtime_ns), or None when it cannot be stat'ed (a missing file: its check says why)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


class CheckedImages:
    """The remembered verdicts: recall() what is known of some files, remember() new verdicts."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or store_path()

    def recall(self, paths: Iterable[str]) -> tuple[dict[str, str], dict[str, Stamp | None]]:
        """(problems, todo) of `paths`: why each file remembered as unreadable cannot be read, and the files
        without a valid verdict (new, changed since their check, or not there: stamp None) with the stamp taken
        now, before they are checked. Files are stat'ed and looked up BATCH at a time; a file remembered
        readable leaves nothing behind, so a repeated check of a large dataset holds no per-file data."""
        problems: dict[str, str] = {}
        todo: dict[str, Stamp | None] = {}
        paths = list(paths)

        def read(db: sqlite3.Connection) -> None:
            problems.clear()
            todo.clear()
            for start in range(0, len(paths), BATCH):
                stamped: dict[str, tuple[str, Stamp]] = {}  # key -> (path, stamp)
                for path in paths[start:start + BATCH]:
                    now, key = stamp(path), os.path.abspath(path)
                    if now is None or key in stamped:  # not there, or a second spelling of a path: check it
                        todo[path] = now
                    else:
                        stamped[key] = (path, now)
                rows = db.execute(f"SELECT path, size, mtime_ns, problem FROM checked WHERE path IN "
                                  f"({','.join('?' * len(stamped))})", list(stamped)) if stamped else ()
                for key, size, mtime_ns, problem in rows:
                    path, now = stamped[key]
                    if now == (size, mtime_ns):
                        del stamped[key]
                        if problem:
                            problems[path] = problem
                todo.update(stamped.values())
        if not self._use(read):  # no memory: every file is to be checked
            problems.clear()
            todo.clear()
            todo.update((path, stamp(path)) for path in paths)
        return problems, todo

    def remember(self, verdicts: Iterable[tuple[str, Stamp, str | None]]) -> None:
        """Store (path, (size, mtime_ns), None or the reason) verdicts; the stamps must be the ones taken before the
        check. Written as they come (an iterable: no copy of them all)."""
        rows = ((os.path.abspath(path), size, mtime_ns, problem) for path, (size, mtime_ns), problem in verdicts)
        self._use(lambda db: db.executemany("INSERT OR REPLACE INTO checked VALUES (?, ?, ?, ?)", rows))

    def _use(self, work) -> bool:
        """Run work(db) in a transaction; whether it ran. A damaged store is removed and built again once, any
        other failure leaves this check without memory."""
        for attempt in (1, 2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(self.path, timeout=30)) as db, db:  # closed; committed or rolled back
                    db.execute("CREATE TABLE IF NOT EXISTS checked (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                               "mtime_ns INTEGER NOT NULL, problem TEXT)")
                    work(db)
                return True
            except sqlite3.OperationalError:  # locked past the timeout, read-only, no room: not damage
                return False
            except sqlite3.DatabaseError:  # "file is not a database", "database disk image is malformed"
                if attempt == 2:
                    return False
                _remove(self.path)
            except OSError:  # the cache folder cannot be made
                return False
        return False


def _remove(path: Path) -> None:
    for file in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal"),
                 path.with_name(path.name + "-shm")):
        try:
            file.unlink(missing_ok=True)
        except OSError:
            pass


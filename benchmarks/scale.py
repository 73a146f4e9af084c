"""Benchmark 6, "scale": how tunebench's costs grow with the work, each against a baseline measured in the same run.

Parts (all by default; `--parts records,trials` runs some):
- records: `tunebench compare` (median of 3) and `tunebench report` on MLflow stores of 1k, 10k and 50k trial runs in the shape
  tunebench writes (benchmarks/stores.py; built once and kept in $TUNEBENCH_CACHE/benchmark-stores, ~5 minutes the
  first time). Baselines: the floor (a process that imports MLflow and opens the store, nothing else) and, at the
  sizes --old-read-up-to allows, reading the store the way compare did before (every run of every experiment).
  Each command runs in its own process: wall seconds, peak resident memory, and whether it imported Ray.
- start: a search's data step (dataset check, split, cache open) at 1.5k, 10k and 25k images, first and repeated
  (benchmarks/scale_start.py).
- trials: `tunebench search` against the bare Ray Tune script at 16, 64 and 256 one-epoch trials of 20 images
  (benchmarks/overhead.py's runs), the driver's and the workers' resident memory as the trials go by.
- data: the share of an augmented AlexNet epoch on CPU spent waiting for data (benchmarks/data_wait.py).

Usage: .venv/bin/python benchmarks/scale.py [--parts records,start,trials,data] [--trial-sizes 16 64 256]
       [--store-sizes 1000 10000 50000] [--old-read-up-to 10000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import fmt_seconds, machine  # noqa: E402

PARTS = ("records", "start", "trials", "data")


def timed_process(code: str, cwd: Path) -> tuple[float, float, bool]:
    """Run `python -c code` (ending with _EPILOGUE): wall seconds, its peak resident MB and whether it imported Ray."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip().splitlines()[-3:]}")
    ray, peak = done.stdout.strip().splitlines()[-1].split()
    return seconds, float(peak), ray == "ray"


def _median_of(repeats: int, code: str, cwd: Path) -> tuple[float, float, bool]:
    """timed_process `repeats` times in a row: the median seconds and peak memory, and whether any imported Ray."""
    runs = [timed_process(code, cwd) for _ in range(repeats)]
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), any(r[2] for r in runs))


# the last line a timed process prints: whether it imported Ray, and its peak resident memory in MB
# (VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec)
_EPILOGUE = ("; import sys; print('ray' if 'ray' in sys.modules else 'no-ray', next(int(line.split()[1]) / 1024 "
             "for line in open('/proc/self/status') if line.startswith('VmHWM')))")


def _cli(argv: list[str]) -> str:
    return (f"import contextlib, io, tunebench.cli; buffer = io.StringIO()\n"
            f"with contextlib.redirect_stdout(buffer): code = tunebench.cli.main({argv!r})\n"
            f"assert code == 0, buffer.getvalue()[-500:]" + _EPILOGUE)


def records(sizes: list[int], old_up_to: int) -> None:
    from benchmarks.stores import build, trial_runs

    cache = Path(os.environ.get("TUNEBENCH_CACHE", Path.home() / ".cache" / "tunebench")) / "benchmark-stores"
    start = time.perf_counter()
    stores = build(cache, sizes)
    print(f"stores in {cache} ({fmt_seconds(time.perf_counter() - start)} to build or check)", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tunebench_scale_") as work:
        for size, path in stores.items():
            uri = f"sqlite:///{path}"
            with sqlite3.connect(path) as db:  # the search a report is asked for: the first one written
                search = db.execute("select run_uuid from runs where name = 'search-0000'").fetchone()[0]
            floor = _median_of(3, f"from tunebench.tracking import Tracker; Tracker({uri!r})" + _EPILOGUE, Path(work))
            compare = _median_of(3, _cli(["compare", "--tracking-uri", uri]), Path(work))
            report = timed_process(_cli(["report", "alexnet-caltech", "--search", search, "--tracking-uri", uri,
                                         "--output", str(Path(work) / f"report-{size}")]), Path(work))
            row = {"trial runs": trial_runs(path), "floor s": floor[0], "compare s": compare[0],
                   "compare MB": compare[1], "report s": report[0], "report MB": report[1],
                   "Ray imported": "yes" if compare[2] or report[2] else "no"}
            if size <= old_up_to:
                old = timed_process("import mlflow; from tunebench.tracking import Tracker; Tracker(" + repr(uri) + "); "
                                    f"mlflow.set_tracking_uri({uri!r}); mlflow.search_runs(search_all_experiments=True)"
                                    + _EPILOGUE, Path(work))
                row.update({"read-all s": old[0], "read-all MB": old[1]})
            rows.append(row)
            print("  " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
                  flush=True)
    _table(rows)
    first, last = rows[0], rows[-1]
    steps = "; ".join(f"{b['trial runs'] / a['trial runs']:.0f}x the runs ({a['trial runs']} -> {b['trial runs']}): "
                      f"{_above(b) / max(_above(a), 0.05):.1f}x the time above the floor"
                      for a, b in zip(rows, rows[1:]))
    print(f"\nrecords: compare {last['compare s']:.1f} s at {last['trial runs']} trial runs, "
          f"{_above(last):.1f} s above the floor of importing MLflow and opening the store ({last['floor s']:.1f} s); "
          f"{steps}; memory {first['compare MB']:.0f} -> {last['compare MB']:.0f} MB; report {first['report s']:.1f} "
          f"-> {last['report s']:.1f} s")
    for row in rows:
        if "read-all s" in row:
            print(f"records: at {row['trial runs']} trial runs, compare {row['compare s']:.1f} s vs reading every run "
                  f"(compare before) {row['read-all s']:.1f} s = {row['read-all s'] / row['compare s']:.1f}x faster, "
                  f"{row['read-all MB'] / row['compare MB']:.1f}x less memory")


def _above(row: dict) -> float:
    return row["compare s"] - row["floor s"]


def _table(rows: list[dict]) -> None:
    import pandas as pd

    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.1f}"), flush=True)


def start_up() -> None:
    from benchmarks import scale_start

    with tempfile.TemporaryDirectory(prefix="tunebench_scale_start_") as work:
        rows = scale_start.measure(workdir=Path(work))
    print(scale_start.table(rows, scale_start.IMAGE_SIZE))
    print(scale_start.verdict(rows))


def _slope(samples: list[tuple[float, float]], start: float, end: float) -> tuple[float, float, float]:
    """MB at the first and last sample of [start, end] seconds, and the least-squares slope in MB per minute."""
    inside = [(t, mb) for t, mb in samples if start <= t <= end]
    if len(inside) < 3:
        return float("nan"), float("nan"), float("nan")
    times, mbs = zip(*inside)
    slope = statistics.linear_regression(times, mbs).slope * 60 if len(set(times)) > 1 else 0.0
    return mbs[0], mbs[-1], slope


def trials(sizes: list[int], epochs: int = 1, limit_per_class: int = 2) -> None:
    from benchmarks.overhead import init_store, run_bare, run_tunebench

    data_dir = ROOT.parent / "shared" / "data" / "cifar-10-batches-py"
    rows = []
    with tempfile.TemporaryDirectory(prefix="tunebench_scale_trials_") as work:
        work = Path(work)
        uri = f"sqlite:///{work / 'mlruns.db'}"
        init_store(uri)
        for size in sizes:
            bare = run_bare(work, size, data_dir, size, "bare", epochs, limit_per_class)
            ours = run_tunebench(work, size, data_dir, size, uri, "tunebench", epochs, limit_per_class)
            for run in (bare, ours):
                if not run.ok or run.trials != size or run.errored:
                    print(f"  {run.kind} at {size} trials INVALID: exit ok={run.ok}, {run.trials} trials, "
                          f"{run.errored} errored; log tail:\n{_tail(run.log)}")
            row = {"trials": size, "bare s": bare.seconds, "tunebench s": ours.seconds,
                   "ratio": ours.seconds / bare.seconds, "bare trials s": bare.trials_span or float("nan"),
                   "tunebench trials s": ours.trials_span or float("nan")}
            # memory while the trials ran: from the first epoch to the last result
            begin, end = ours.startup or 0.0, (ours.startup or 0.0) + (ours.trials_span or 0.0)
            for role in ("driver", "worker"):
                first, last, slope = _slope(ours.memory.get(role, []), begin, end)
                row.update({f"{role} MB": last, f"{role} MB/min": slope})
            rows.append(row)
            print("  " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
                  flush=True)
    _table(rows)
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        added = b["trials"] - a["trials"]
        ours_each = (b["tunebench trials s"] - a["tunebench trials s"]) / added
        bare_each = (b["bare trials s"] - a["bare trials s"]) / added
        smaller = ", ".join(f"{r['ratio']:.2f}x at {r['trials']}" for r in rows[:-1])
        print(f"\ntrials: tunebench {b['ratio']:.2f}x bare Ray Tune at {b['trials']} trials ({smaller}); each trial from "
              f"{a['trials']} to {b['trials']}: {ours_each:.2f} s vs bare {bare_each:.2f} s; driver memory "
              f"{b['driver MB']:.0f} MB at {b['trials']} trials ({b['driver MB/min']:+.1f} MB/min while trials ran)")


def _tail(log: Path | None) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log else ""
    except OSError:
        return ""


def data() -> None:
    from benchmarks import data_wait

    result = data_wait.measure()
    print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--store-sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--old-read-up-to", type=int, default=10000,
                        help="the largest store also read the old way (every run): slow and memory-hungry")
    parser.add_argument("--trial-sizes", type=int, nargs="+", default=[16, 64, 256])
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}: choose from {', '.join(PARTS)}")
    print(machine(), flush=True)
    began = time.perf_counter()
    for part in parts:
        print(f"\n== {part} ==", flush=True)
        start = time.perf_counter()
        {"records": lambda: records(args.store_sizes, args.old_read_up_to), "start": start_up,
         "trials": lambda: trials(args.trial_sizes), "data": data}[part]()
        print(f"({part}: {fmt_seconds(time.perf_counter() - start)})", flush=True)
    print(f"\nscale: {fmt_seconds(time.perf_counter() - began)} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())

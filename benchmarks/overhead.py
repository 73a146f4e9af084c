"""Benchmark 2, "overhead": wall time of a 16-trial tiny search through `tunebench search` against a bare Ray Tune
script running the same trainable with the same per-trial config (benchmarks/bare_tune.py). Target <= 1.2x.

The tiny search: `tunebench search cnn-cifar10 --smoke --num-samples 16` on CIFAR-10: the benchmark's own model
(cifar-cnn) and search space, 8 images per class (80 train / 80 val / 80 test), batch 32, 2 epochs, so a trial
trains for a second or two and what surrounds the training dominates. Both commands are timed as subprocesses,
from process start to exit, alternating (the order reversed every repeat), each with a Ray of its own
(RAY_ADDRESS=local). The ratio is of the medians; the per-repeat ratios (a pair runs minutes apart) are printed too,
and the CPU seconds of each process tree, since other jobs on the machine make wall times noisy. After the runs,
the trials' configs (Ray's params.json) of tunebench and bare are compared: same keys, same fixed values.

MLflow store: `initialised` (the headline, the typical case: `mlruns.db` already exists, as from the second search
on) is one temporary SQLite store whose schema is created before timing and which then keeps every timed search;
`fresh` is a new SQLite file per run, so that run also pays MLflow's schema migrations (a first search ever).

Each run is also split by its trials' results (Ray's result.json timestamps, whole seconds): start-up (process
start to the first epoch: imports, data, Ray, MLflow set-up, the first actor), trials, and tail (last result to
exit: test evaluation, results, MLflow, Ray's shutdown).

Usage: .venv/bin/python benchmarks/overhead.py [--repeats 2] [--store initialised|fresh|both] [--num-samples 16]
       [--data-dir ../shared/data/cifar-10-batches-py] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import machine  # noqa: E402
BIN = Path(sys.executable).parent
TARGET = 1.2
BENCHMARK = "cnn-cifar10"
SMOKE = dict(epochs=2, limit_per_class=8, batch_size=32)  # cnn-cifar10's --smoke (its num_samples is overridden)


@dataclass
class Run:
    kind: str            # "bare" | "tunebench" | "tunebench-fresh"
    repeat: int
    seconds: float
    ok: bool
    cpu: float = 0.0     # CPU seconds of the process tree (sampled from /proc)
    load: float = 0.0    # the machine's 1-minute load average at the end
    trials: int = 0
    errored: int = 0
    startup: float | None = None     # process start -> first epoch starts (the first actor started, set up)
    trials_span: float | None = None  # first epoch starts -> last result
    tail: float | None = None        # last result -> process exit
    configs: list[dict] = field(default_factory=list)
    log: Path | None = None
    memory: dict = field(default_factory=dict)  # role -> [(seconds, MB)] (CpuSampler.memory)


def _trial_folders(experiment: Path) -> list[Path]:
    return sorted(p for p in experiment.iterdir() if p.is_dir() and (p / "params.json").is_file()) \
        if experiment.is_dir() else []


def _inspect(run: Run, experiment: Path, started: float, ended: float) -> Run:
    """Trials, errors, per-trial configs and the start-up / trials / tail split, from Ray's trial folders (the
    split uses the results' timestamps, whole seconds: +-1 s)."""
    folders = _trial_folders(experiment)
    run.trials = len(folders)
    run.errored = sum((f / "error.txt").is_file() for f in folders)
    run.configs = [json.loads((f / "params.json").read_text()) for f in folders]
    results = [json.loads(line) for f in folders if (f / "result.json").is_file()
               for line in (f / "result.json").read_text().splitlines() if line.strip()]
    if results:
        first = min(r["timestamp"] - r["time_this_iter_s"] for r in results)  # the first epoch's start
        last = max(r["timestamp"] for r in results)
        run.startup, run.trials_span, run.tail = first - started, last - first, ended - last
    return run


class CpuSampler(threading.Thread):
    """CPU seconds of every process that carries `TUNEBENCH_OVERHEAD_TAG=tag` in its environment (the command and
    everything it starts: Ray's daemons and workers inherit it), from /proc every `period` seconds: each process's
    last seen utime + stime. The other engineers' jobs on this machine make wall time noisy; CPU time much less.
    It also samples resident memory by role: `driver` (the command's own processes), `worker` (Ray's actors,
    `ray::...`) and `ray` (Ray's daemons), as (seconds since start, largest RSS of the role in MB)."""

    TICK = os.sysconf("SC_CLK_TCK")
    PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20

    def __init__(self, tag: str, period: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.marker = f"TUNEBENCH_OVERHEAD_TAG={tag}".encode()
        self.period, self.stop, self.seen, self.ours = period, threading.Event(), set(), {}
        self.roles: dict[int, str] = {}
        self.memory: dict[str, list[tuple[float, float]]] = {"driver": [], "worker": [], "ray": []}
        self.start_time = time.perf_counter()

    @staticmethod
    def _role(pid: int) -> str:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        if command.startswith("ray::"):
            return "worker"
        return "driver" if ("tunebench" in command or "bare_tune.py" in command) else "ray"

    def _sample(self) -> None:
        rss: dict[str, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                if pid not in self.seen:
                    self.seen.add(pid)
                    if self.marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                        self.ours[pid] = 0
                if pid in self.ours:
                    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                    self.ours[pid] = max(self.ours[pid], int(fields[11]) + int(fields[12]))
                    role = self.roles.get(pid)
                    if role != "driver":  # a Ray worker names itself ray::<actor> once it runs one
                        role = self.roles[pid] = self._role(pid)
                    resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * self.PAGE_MB
                    rss[role] = max(rss.get(role, 0.0), resident)
            except OSError:
                continue
        now = time.perf_counter() - self.start_time
        for role, mb in rss.items():
            self.memory[role].append((now, mb))

    def run(self) -> None:
        while not self.stop.wait(self.period):
            self._sample()

    def seconds(self) -> float:
        return sum(self.ours.values()) / self.TICK


def _timed(command: list[str], log: Path) -> tuple[float, float, float, int, float, dict]:
    """Wall seconds, start and end (epoch s), exit code, CPU seconds of the process tree (sampled) and its
    resident memory by role over time (CpuSampler.memory)."""
    tag = uuid.uuid4().hex
    # RAY_ADDRESS=local: each command starts its own Ray. Without it ray.init() joins the cluster of a `ray start`
    # on this machine (another engineer's tests), and the two commands would not run alike.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TUNEBENCH_OVERHEAD_TAG": tag, "RAY_ADDRESS": "local"}
    env.pop("MLFLOW_TRACKING_URI", None)
    sampler = CpuSampler(tag)
    sampler.start()
    with log.open("w") as out:
        started = time.time()
        t0 = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
        seconds = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    return seconds, started, started + seconds, code, sampler.seconds(), sampler.memory


def run_tunebench(work: Path, index: int, data_dir: Path, num_samples: int, uri: str, kind: str,
                  epochs: int = SMOKE["epochs"], limit_per_class: int = SMOKE["limit_per_class"]) -> Run:
    storage, name = work / f"{kind}-{index}", f"overhead-{index}"
    command = [str(BIN / "tunebench"), "search", BENCHMARK, "--data-dir", str(data_dir), "--smoke",
               "--num-samples", str(num_samples), "--name", name, "--storage-path", str(storage),
               "--tracking-uri", uri, "--max-epochs", str(epochs), "--set", f"limit_per_class={limit_per_class}"]
    log = work / f"{kind}-{index}.log"
    seconds, started, ended, code, cpu, memory = _timed(command, log)
    run = Run(kind, index, seconds, code == 0, cpu=cpu, load=os.getloadavg()[0], log=log, memory=memory)
    return _inspect(run, storage / name, started, ended)


def run_bare(work: Path, index: int, data_dir: Path, num_samples: int, kind: str = "bare",
             epochs: int = SMOKE["epochs"], limit_per_class: int = SMOKE["limit_per_class"]) -> Run:
    storage = work / f"{kind}-{index}"
    command = [sys.executable, str(ROOT / "benchmarks" / "bare_tune.py"), "--data-dir", str(data_dir),
               "--num-samples", str(num_samples), "--epochs", str(epochs),
               "--limit-per-class", str(limit_per_class), "--batch-size", str(SMOKE["batch_size"]),
               "--storage-path", str(storage), "--name", "bare-tune"]
    log = work / f"{kind}-{index}.log"
    seconds, started, ended, code, cpu, memory = _timed(command, log)
    run = Run(kind, index, seconds, code == 0, cpu=cpu, load=os.getloadavg()[0], log=log, memory=memory)
    return _inspect(run, storage / "bare-tune", started, ended)


def init_store(uri: str) -> float:
    """Create an MLflow SQLite store's schema (what a first search does), in a separate process; its seconds."""
    code = ("import logging; logging.disable(logging.INFO); from mlflow.tracking import MlflowClient; "
            f"MlflowClient(tracking_uri={uri!r}).search_experiments(max_results=1)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - t0


def parity(a: Run, b: Run, swept: set[str]) -> list[str]:
    """Where the two runs' trials differ in config: keys, or values of what is not swept (should be nothing)."""
    if not a.configs or not b.configs:
        return ["no trial configs to compare"]
    problems = []
    keys_a, keys_b = set(a.configs[0]), set(b.configs[0])
    if keys_a != keys_b:
        problems.append(f"config keys only in {a.kind}: {sorted(keys_a - keys_b)}, only in {b.kind}: "
                        f"{sorted(keys_b - keys_a)}")
    for key in sorted((keys_a & keys_b) - swept):
        va, vb = {json.dumps(c[key]) for c in a.configs}, {json.dumps(c[key]) for c in b.configs}
        if va != vb:
            problems.append(f"{key}: {a.kind} {sorted(va)} vs {b.kind} {sorted(vb)}")
    return problems


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--store", choices=("initialised", "fresh", "both"), default="both",
                        help="MLflow store of the tunebench runs (headline: initialised)")
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "cifar-10-batches-py"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, trials, stores)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()

    from search_spaces import get_benchmark

    print(machine(), flush=True)

    swept = set(get_benchmark(BENCHMARK).space)
    work = Path(tempfile.mkdtemp(prefix="tunebench_overhead_"))
    shared_uri = f"sqlite:///{work / 'mlruns.db'}"
    kinds = ["bare"] + (["tunebench"] if args.store != "fresh" else []) + \
        (["tunebench-fresh"] if args.store != "initialised" else [])
    if "tunebench" in kinds:
        print(f"MLflow store {shared_uri}: schema created before timing in {init_store(shared_uri):.1f} s "
              f"(a separate process: import + migrations)", flush=True)
    runs: list[Run] = []
    try:
        for repeat in range(args.repeats):
            order = kinds if repeat % 2 == 0 else kinds[::-1]
            for kind in order:
                if kind == "bare":
                    run = run_bare(work, repeat, data_dir, args.num_samples, kind)
                elif kind == "tunebench":
                    run = run_tunebench(work, repeat, data_dir, args.num_samples, shared_uri, kind)
                else:
                    run = run_tunebench(work, repeat, data_dir, args.num_samples,
                                        f"sqlite:///{work / f'fresh-{repeat}.db'}", kind)
                runs.append(run)
                status = "ok" if run.ok and not run.errored and run.trials == args.num_samples else \
                    f"INVALID (exit ok={run.ok}, {run.trials} trials, {run.errored} errored; log {run.log})"
                print(f"repeat {repeat + 1} {kind:<16} {run.seconds:6.1f} s (CPU {run.cpu:5.1f} s, load "
                      f"{run.load:4.1f})   start-up {_fmt(run.startup)} s, trials {_fmt(run.trials_span)} s, "
                      f"tail {_fmt(run.tail)} s   {status}", flush=True)

        def valid(kind: str) -> list[Run]:
            return [r for r in runs if r.kind == kind and r.ok and not r.errored and r.trials == args.num_samples]

        bare = valid("bare")
        if not bare:
            print("no valid bare Ray Tune run: no ratio", file=sys.stderr)
            return 1
        base = statistics.median(r.seconds for r in bare)
        print()
        headline = []
        for kind in kinds[1:]:
            mine = valid(kind)
            if not mine:
                print(f"{kind}: no valid run")
                continue
            for problem in parity(mine[0], bare[0], swept):
                print(f"warning: trial configs of {kind} and bare differ: {problem}")
            ours = statistics.median(r.seconds for r in mine)
            # each repeat's pair ran minutes apart at most: its ratio rides out the machine's load drifting
            paired = [r.seconds / b.seconds for r in mine for b in bare if b.repeat == r.repeat]
            cpu, cpu_bare = statistics.median(r.cpu for r in mine), statistics.median(r.cpu for r in bare)
            pairs = f"; per repeat {', '.join(f'{x:.2f}x' for x in paired)}" if paired else ""
            print(f"{kind:<16} {ours:6.1f} s vs bare {base:6.1f} s: {ours - base:+.1f} s, {ours / base:.2f}x "
                  f"(medians of {len(mine)} vs {len(bare)} runs{pairs})")
            print(f"  CPU seconds of the process trees {cpu:.1f} s vs {cpu_bare:.1f} s = {cpu / cpu_bare:.2f}x")
            for part in ("startup", "trials_span", "tail"):
                a = [getattr(r, part) for r in mine if getattr(r, part) is not None]
                b = [getattr(r, part) for r in bare if getattr(r, part) is not None]
                if a and b:
                    print(f"  {part:<12} {statistics.median(a):6.1f} s vs {statistics.median(b):6.1f} s  "
                          f"({statistics.median(a) - statistics.median(b):+.1f} s)")
            store = {"tunebench": "initialised MLflow store (typical)",
                     "tunebench-fresh": "fresh MLflow store: a first search, schema migrations included"}[kind]
            headline.append(f"overhead: tunebench {ours:.1f} s vs bare Ray Tune {base:.1f} s = {ours / base:.2f}x "
                            f"(target <= {TARGET}x) [{store}; medians of {len(mine)} vs {len(bare)} runs"
                            + (f", paired per repeat {statistics.median(paired):.2f}x" if paired else "")
                            + f"; {args.num_samples} trials x {SMOKE['epochs']} epochs]")
        print()
        print("\n".join(headline))
        return 0
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

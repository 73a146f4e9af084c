"""Benchmark 6, scale start: what starting a search costs at 1.5k, 10k and 25k images, first and repeated.

Each size is a Caltech101-shaped tree, `101_ObjectCategories/<class>/image_NNNN.jpg` over 101 classes, of hard
links to the real sample JPEGs in ../shared/data (Caltech101 and Dogs vs Cats, cycled; every link its own path, so
every one is its own image to the check). Each case runs in a fresh subprocess, so imports are paid the same way
every time and reported apart:

- floor: walking the tree with os.scandir and stat'ing every file, the least any start can do;
- first start: `build_dataset("folder")` with an empty $TUNEBENCH_CACHE (every image checked, in parallel), the
  splits pickled as Ray's object store takes them, then the decoded-image cache of train and val opened as a
  trial opens it before its first batch: the cache key, then the build (every image decoded and resized: a first
  trial's first step, timed apart);
- repeated, 1st after the build: the same on unchanged data (the check's store warm), the first process to open
  the cache files after they were built: it reads each whole once for its CRC (data.cache records that);
- repeated start: the same again (median of --repeats): the data step, the pickle and the cache open are what
  stand between a repeated search and its first trial;
- repeated start, caltech101: `build_dataset("caltech101")` on the same tree (same paths: the store is warm), and
  its cache key.

Reported per case: seconds per phase, images/s of the start, the ratio to the floor and to the 1.5k size (the
size ratio beside it: costs that grow with the images grow with it, costs that are flat do not), and the
subprocess's peak resident memory (ru_maxrss), also over what its imports alone took.

    python benchmarks/scale_start.py                          # 1.5k, 10k, 25k in /tmp/scale_start (3-4 min)
    python benchmarks/scale_start.py --sizes 1500 --repeats 1  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO, SHARED, machine  # noqa: E402

SIZES = (1500, 10000, 25000)
WORKDIR = Path("/tmp/scale_start")
CLASSES = 101
IMAGE_SIZE = 32  # the cache's image size: alexnet-caltech's --smoke size (decoding at 1/4 scale: a short build)
GOAL_SECONDS = 3.0  # a repeated start at 25k images: data step, pickle and cache open
CATEGORIES = "101_ObjectCategories"
SETTLED_S = 2.5  # cache.SETTLED_NS and a margin: the 1st open after the build can record its CRC check
# (case, dataset, its data folder in the tree, open the cache, runs: 0 for --repeats)
CASES = (("first start", "folder", CATEGORIES, True, 1),
         ("repeated, 1st after the build", "folder", CATEGORIES, True, 1),
         ("repeated start", "folder", CATEGORIES, True, 0),
         ("repeated start (caltech101)", "caltech101", "", False, 1))


def sources() -> list[str]:
    """The real sample JPEGs: Caltech101's (without BACKGROUND_Google) and Dogs vs Cats', sorted."""
    caltech = SHARED / "data" / "caltech101" / CATEGORIES
    found = [entry.path for folder in sorted(os.scandir(caltech), key=lambda e: e.name)
             if folder.is_dir() and folder.name != "BACKGROUND_Google"
             for entry in sorted(os.scandir(folder.path), key=lambda e: e.name) if entry.name.endswith(".jpg")]
    dogs = SHARED / "data" / "dogs-vs-cats" / "train"
    found += sorted(entry.path for entry in os.scandir(dogs) if entry.name.endswith(".jpg")) if dogs.is_dir() else []
    if not found:
        raise SystemExit(f"no sample JPEGs in {SHARED / 'data'}")
    return found


def build_tree(size: int, root: Path, files: list[str]) -> Path:
    """root/101_ObjectCategories/class_CCC/image_NNNN.jpg: `size` hard links cycling through `files`."""
    categories = root / CATEGORIES
    for label in range(CLASSES):
        (categories / f"class_{label:03d}").mkdir(parents=True, exist_ok=True)
    for i in range(size):
        os.link(files[i % len(files)], categories / f"class_{i % CLASSES:03d}" / f"image_{i // CLASSES + 1:04d}.jpg")
    return root


# --- what runs in each subprocess ----------------------------------------------------------------------------

def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_floor(root: str) -> dict:
    """Walk the tree with os.scandir and stat every file."""
    start, files = time.perf_counter(), 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    entry.stat()
                    files += 1
    return {"floor": time.perf_counter() - start, "files": files, "rss": _peak_mib()}


def child_start(dataset: str, data_dir: str, image_size: int, open_cache: bool) -> dict:
    """One start: imports, the data step (the check timed apart), the pickle, the cache key and open (or build)."""
    import pickle

    started = time.perf_counter()
    from tunebench import console
    from tunebench.data import build_dataset, cache, splits as splitting

    times = {"import": time.perf_counter() - started}
    rss_imports = _peak_mib()
    console.set_verbosity(console.QUIET)
    check = splitting.find_unreadable
    checked = [0.0]

    def timed_check(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return check(*args, **kwargs)
        finally:
            checked[0] += time.perf_counter() - begin
    splitting.find_unreadable = timed_check

    begin = time.perf_counter()
    splits = build_dataset(dataset, Path(data_dir), progress=None)
    times["data"], times["check"] = time.perf_counter() - begin, checked[0]
    begin = time.perf_counter()
    pickle.dumps(splits)
    times["pickle"] = time.perf_counter() - begin
    rss_driver = _peak_mib()
    begin = time.perf_counter()
    for part in ("train", "val"):
        cache.cache_path(splits, part, image_size)
    times["key"] = time.perf_counter() - begin
    built = False
    if open_cache:
        begin = time.perf_counter()
        for part in ("train", "val"):
            built |= cache.open_split(splits, part, image_size=image_size).built
        times["open"] = time.perf_counter() - begin
    return {**times, "built": built, "images": sum(splits.sizes().values()), "skipped": len(splits.skipped),
            "rss_imports": rss_imports, "rss_driver": rss_driver, "rss": _peak_mib()}


def in_subprocess(job: dict, cache_dir: Path) -> dict:
    env = {**os.environ, "TUNEBENCH_CACHE": str(cache_dir), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(job, default=str)], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{job['case']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the parent ----------------------------------------------------------------------------------------------

def measure(sizes=SIZES, workdir: Path = WORKDIR, image_size: int = IMAGE_SIZE, repeats: int = 3,
            keep: bool = False) -> list[dict]:
    """One row per size and case (floor, first, repeated, repeated caltech101): seconds per phase, peak RSS."""
    files = sources()
    rows = []
    for size in sizes:
        root = workdir / f"tree-{size}"
        cache_dir = workdir / f"cache-{size}"
        for stale in (root, cache_dir):
            shutil.rmtree(stale, ignore_errors=True)
        begin = time.perf_counter()
        build_tree(size, root, files)
        tree_seconds = time.perf_counter() - begin
        try:
            floors = [in_subprocess({"case": "floor", "root": root / CATEGORIES}, cache_dir) for _ in range(repeats)]
            floor = statistics.median(run["floor"] for run in floors)
            rows.append({"size": size, "case": "floor: scandir + stat", "start": floor, "tree": tree_seconds,
                         "rss": statistics.median(run["rss"] for run in floors), "floor": floor})
            ended = time.perf_counter()
            for case, dataset, data_dir, open_cache, times in CASES:
                if case == "repeated, 1st after the build":  # the build's files settled, as a later search finds them
                    time.sleep(max(0.0, SETTLED_S - (time.perf_counter() - ended)))
                job = {"case": case, "dataset": dataset, "data_dir": root / data_dir, "image_size": image_size,
                       "open_cache": open_cache}
                runs = [in_subprocess(job, cache_dir) for _ in range(times if times else repeats)]
                ended = time.perf_counter()
                row = {key: statistics.median(run[key] for run in runs) for key in runs[0]
                       if isinstance(runs[0][key], float)}
                row.update(size=size, case=case, images=runs[0]["images"], built=runs[0]["built"], floor=floor)
                if row["built"]:  # the cache build is a first trial's first step: apart from the start
                    row["build"], row["open"] = row.pop("open"), None
                row["start"] = row["data"] + row["pickle"] + (row.get("open") or row["key"])  # opening takes the key
                rows.append(row)
        finally:
            if not keep:
                shutil.rmtree(root, ignore_errors=True)
                shutil.rmtree(cache_dir, ignore_errors=True)
    first = {row["case"]: row["start"] for row in rows if row["size"] == min(sizes)}
    for row in rows:
        row["growth"] = row["start"] / first[row["case"]]
        row["per_floor"] = row["start"] / row["floor"]
    return rows


def _cell(value, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(rows: list[dict], image_size: int) -> str:
    """The rows as a Markdown table; `start` is data + pickle + cache open (which takes the key first; the key alone
    where the cache is built: the build apart)."""
    smallest = min(row["size"] for row in rows)
    head = ["images", "case", "import s", "data s (check s)", "pickle s", "cache key s", "cache open s (with key)",
            f"cache build s ({image_size} px)", "start s", "images/s", "x floor", f"growth vs {smallest:,}",
            "peak RSS MiB (over imports)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        floor_row = row["case"].startswith("floor")
        rate = row["size"] / row["start"] if row["start"] else None
        rss = f"{row['rss']:.0f}" + ("" if floor_row else f" (+{row['rss_driver'] - row['rss_imports']:.0f} driver, "
                                     f"+{row['rss'] - row['rss_imports']:.0f} all)")
        lines.append("| " + " | ".join([
            f"{row['size']:,}", row["case"], _cell(row.get("import")),
            "-" if floor_row else f"{row['data']:.2f} ({row['check']:.2f})", _cell(row.get("pickle"), "{:.3f}"),
            _cell(row.get("key")), _cell(row.get("open")), _cell(row.get("build")), f"**{row['start']:.2f}**",
            _cell(rate, "{:,.0f}"), f"{row['per_floor']:.1f}x", f"{row['growth']:.1f}x (size "
            f"{row['size'] / smallest:.1f}x)", rss]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the floor and the repeated start (median)")
    parser.add_argument("--keep", action="store_true", help="keep the trees and caches in --workdir")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        if job["case"] == "machine":
            result = {"machine": machine()}
        elif job["case"] == "floor":
            result = child_floor(job["root"])
        else:
            result = child_start(job["dataset"], job["data_dir"], job["image_size"], job["open_cache"])
        print(json.dumps(result))
        return
    # in a subprocess: the torch this imports would count in every later child's ru_maxrss (kept across exec)
    print(in_subprocess({"case": "machine"}, args.workdir)["machine"])
    begin = time.perf_counter()
    rows = measure(args.sizes, args.workdir, args.image_size, args.repeats, args.keep)
    print(table(rows, args.image_size))
    print(f"{verdict(rows)}; load avg now {'/'.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{time.perf_counter() - begin:.0f} s in all")


def verdict(rows: list[dict]) -> str:
    """The goal's line: the slowest repeated start at the largest size against GOAL_SECONDS."""
    largest = max(row["size"] for row in rows)
    repeated = [row for row in rows if row["size"] == largest and row["case"].startswith("repeated")]
    slowest = max(repeated, key=lambda row: row["start"])
    met = "met" if slowest["start"] <= GOAL_SECONDS else "NOT met"
    return (f"scale start: a repeated start at {largest:,} images takes at most {slowest['start']:.2f} s "
            f"({slowest['case']}; goal <= {GOAL_SECONDS:.0f} s: {met})")


if __name__ == "__main__":
    main()

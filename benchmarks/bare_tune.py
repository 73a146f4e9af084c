"""The bare Ray Tune baseline of benchmarks/overhead.py: the script a researcher would write by hand.

    ray.init -> tunebench.data.build_dataset -> tune.Tuner(tune.with_parameters(TrialTrainable, splits=...),
    Optuna (seed) + ASHA, num_samples) -> fit() -> print the best result

It runs the same trainable class with the same per-trial config as

    tunebench search cnn-cifar10 --data-dir D --num-samples N --max-epochs E --set limit_per_class=L batch_size=B

(the benchmark's defaults, its search space, model, epochs, seed, and the device settings tunebench adds to every
trial's config), but none of tunebench's own machinery: no MLflow, no checkpoints, no test-split evaluation, no
results table, no reports. benchmarks/overhead.py checks afterwards that the trials of both runs got the same
config keys and fixed values.

Usage: .venv/bin/python benchmarks/bare_tune.py --data-dir ../shared/data/cifar-10-batches-py [--num-samples 16]
       [--epochs 2] [--limit-per-class 8] [--batch-size 32] [--seed 0] [--storage-path DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

START = time.time()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: search_spaces/ is not installed

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search.optuna import OptunaSearch  # noqa: E402

from search_spaces.cnn_cifar10 import BENCHMARK  # noqa: E402  (the space and defaults, as data)
from tunebench.settings import AccelSettings  # noqa: E402
from tunebench.data import build_dataset  # noqa: E402
from tunebench.trainable import TrialTrainable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/cifar-10-batches-py")
    parser.add_argument("--num-samples", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit-per-class", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage-path", help="Ray's trial folders (default: a new temporary folder)")
    parser.add_argument("--name", default="bare-tune")
    args = parser.parse_args()
    timings = {"imports": time.time() - START}

    t = time.time()
    ray.init(include_dashboard=False)  # a minimal Ray install has no dashboard anyway; same start-up as tunebench
    timings["ray.init"] = time.time() - t
    t = time.time()
    splits = build_dataset(BENCHMARK.dataset, Path(args.data_dir).resolve(), limit_per_class=args.limit_per_class)
    timings["build_dataset"] = time.time() - t

    # the per-trial config: the benchmark's defaults, a few fixed values, its search space
    config = {**BENCHMARK.defaults, "limit_per_class": args.limit_per_class, "batch_size": args.batch_size,
              "model": BENCHMARK.model, "epochs": args.epochs, "seed": args.seed}
    # the device settings tunebench records in every trial's config (CPU here: plain fp32)
    config.update(data_pipeline="cached", **asdict(AccelSettings().on(bool(ray.cluster_resources().get("GPU")))))
    param_space = {**config, **BENCHMARK.tune_space()}

    reuse = TrialTrainable.reset_config is not tune.Trainable.reset_config  # tunebench's rule
    storage = args.storage_path or tempfile.mkdtemp(prefix="bare_tune_")
    tuner = tune.Tuner(
        tune.with_parameters(TrialTrainable, splits=splits),  # a class Trainable asks for 1 CPU, as tunebench's
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=BENCHMARK.metric, mode=BENCHMARK.mode, num_samples=args.num_samples,
            search_alg=OptunaSearch(seed=args.seed),
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=args.epochs, grace_period=1,
                                    reduction_factor=3),
            reuse_actors=reuse),
        run_config=tune.RunConfig(name=args.name, storage_path=os.path.abspath(storage)))
    t = time.time()
    results = tuner.fit()
    timings["Tuner.fit"] = time.time() - t
    best = results.get_best_result()
    swept = {k: best.config[k] for k in BENCHMARK.space}
    print(f"best: {BENCHMARK.metric} {best.metrics[BENCHMARK.metric]:.4f} with {swept}")
    print(f"bare Ray Tune: {len(results)} trials ({results.num_errors} errored), reuse_actors={reuse}, "
          f"{time.time() - START:.1f} s from start (storage {storage}); "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()), flush=True)


if __name__ == "__main__":
    main()

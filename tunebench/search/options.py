"""What the user asked of a search: the CLI's options, one record (SearchOptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunebench.settings import AccelSettings
from tunebench.tracking import DEFAULT_TRACKING_URI

DEFAULT_NUM_SAMPLES = 16


@dataclass(frozen=True)
class SearchOptions:
    data_dir: Path
    search: str = "optuna"                # a name in methods.SEARCHES
    scheduler: str | None = None          # a name in methods.SCHEDULERS; None: the search method's default
    sampler: str = "tpe"                  # --search optuna's sampler: a name in methods.SAMPLERS
    objectives: tuple[tuple[str, str], ...] = ()  # (metric, min|max) per objective; (): the benchmark's metric
    warm_start: str | None = None         # report | mlflow | mlflow:SEARCH (warm_start.py)
    num_samples: int | None = None
    max_epochs: int | None = None
    max_concurrent: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float | None = None   # None: 1 when the Ray cluster has GPUs, else 0
    overrides: dict[str, list[Any]] = field(default_factory=dict)
    seed: int = 0
    smoke: bool = False
    name: str | None = None
    storage_path: Path = Path("ray_results")
    tracking_uri: str = DEFAULT_TRACKING_URI
    download: bool = False
    grace_period: int = 1
    address: str | None = None            # None: a local Ray; auto | HOST:PORT | ray://HOST:10001: a running cluster
    max_failures: int = 0                 # retries of a trial that raised, from its last checkpoint
    resume: bool = False                  # continue the search `name` (default: this benchmark's latest)
    retry_errored: bool = False           # with resume: rerun errored trials from their last checkpoint
    data_pipeline: str = "cached"         # cached: decoded-image cache + batches augmented on the device; naive
    accel: AccelSettings = AccelSettings()  # what the trials' device runs (CUDA only, but compile)
    reuse_actors: bool = True             # a finished trial's worker runs the next trial (when the trainable can)
    test: str = "best"                    # best: the best trial on the test split; all: every trial
    dataset: str | None = None            # another registered dataset for the benchmark's recipe (--dataset folder)
    register_model: str | None = None     # the best trial's model registered under this name in MLflow's registry
    log_models: bool = False              # every scored trial's model logged on its run (a study's rows)
    time_budget_s: float | None = None    # Ray Tune's time_budget_s: no trial starts after it, running ones stop

    def __post_init__(self) -> None:
        # a search file's JSON gives the objectives back as lists of lists: the same pairs again
        object.__setattr__(self, "objectives", tuple((str(metric), str(mode)) for metric, mode in self.objectives))


# what a search was started with, saved in its search file: --resume plans it again from these
SAVED = ("search", "scheduler", "sampler", "objectives", "warm_start", "num_samples", "max_epochs", "max_concurrent", "overrides", "seed", "smoke",
         "grace_period", "max_failures", "reuse_actors", "test", "dataset", "register_model", "log_models")

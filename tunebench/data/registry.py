"""Dataset registry: each entry turns a data folder into an ImageSplits."""

from tunebench.registry import Registry

DATASETS: Registry = Registry("dataset")

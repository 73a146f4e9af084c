"""What the three Caltech101 benchmarks of report 003 share: defaults, space, grid, smoke scale."""

from tunebench.benchmark import Benchmark, tune

DEFAULTS = dict(
    optimizer="sgd", lr_schedule="step", lr=1e-3, momentum=0.9, weight_decay=5e-5, step_size=20, gamma=0.1, batch_size=256,
    weights="none", freeze="none", augment="none", image_size=224, limit_per_class=None,
    patience=None, workers=0,
)

# Optuna / random search: the report's ranges, continuous where the report picked points.
SPACE = dict(
    lr=tune.loguniform(1e-3, 1e-1),
    step_size=tune.choice([5, 10, 15, 20]),
    weight_decay=tune.loguniform(5e-6, 5e-4),
    gamma=tune.uniform(0.1, 0.5),
)

# The report's exact values, in the order it swept them ("keep the best, search the next").
GRID = dict(
    lr=(1e-3, 1e-2, 1e-1),
    step_size=(5, 10, 15, 20),
    weight_decay=(5e-4, 5e-5, 5e-6),
    gamma=(0.1, 0.2, 0.3, 0.5),
)

# Tiny images, a few images per class, two epochs and two trials, random weights (offline): about a minute on
# 2 CPU cores.
SMOKE = dict(max_epochs=2, num_samples=2, image_size=64, limit_per_class=4, batch_size=64, weights="none")


def caltech_benchmark(name: str, model: str, batch_size: int, description: str) -> Benchmark:
    """One of report 003's "Beyond AlexNet" models: the shared search at the batch size the report could fit, from
    ImageNet weights as the report's figures were (--smoke: random weights, offline, at 32 px: these networks
    take it, AlexNet does not)."""
    return Benchmark(name=name, seed_report="003", dataset="caltech101", model=model, max_epochs=30,
                     defaults={**DEFAULTS, "batch_size": batch_size, "weights": "imagenet"}, space=SPACE, grid=GRID,
                     smoke={**SMOKE, "image_size": 32, "batch_size": 32}, description=description)

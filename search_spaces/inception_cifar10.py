"""Frozen ImageNet backbone + the report's dense head on CIFAR-10 (report 001, Keras in the original).

The report upsampled 32x32 images to 299x299, froze Keras' InceptionResNetV2 and trained GAP ->
Dense512-BN-Dropout -> Dense128-BN-Dropout -> Dense10 with Adam, batch 256, 4 epochs (test accuracy 0.92).

Differences: torchvision has no InceptionResNetV2; inception_v3 (also 299x299, ImageNet weights) is the
closest stand-in. The frozen backbone runs its BatchNorm in inference mode, as Keras does for a frozen base.
The head's dropout rate is not in the report (0.5 here, searched).
"""

from tunebench.benchmark import Benchmark, tune

BENCHMARK = Benchmark(
    name="inception-cifar10",
    seed_report="001",
    dataset="cifar10",
    model="inception-transfer",
    max_epochs=4,
    defaults=dict(
        weights="imagenet", head_dropout=0.5, optimizer="adam", lr=1e-3, weight_decay=0.0, lr_schedule="constant",
        batch_size=256, image_size=299, resize="square", normalize="imagenet", augment="cifar", patience=None,
        limit_per_class=None, workers=0,
    ),
    space=dict(
        lr=tune.loguniform(1e-4, 1e-2),
        head_dropout=tune.uniform(0.2, 0.6),
        batch_size=tune.choice([64, 128, 256]),
    ),
    smoke=dict(max_epochs=1, num_samples=2, image_size=75, limit_per_class=4, batch_size=16, weights="none"),
    description="Frozen ImageNet inception_v3 + the report's dense head on CIFAR-10 at 299x299",
)

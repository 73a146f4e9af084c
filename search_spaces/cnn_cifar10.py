"""The report's custom CNN on CIFAR-10 (report 001, Keras in the original).

[Conv32-BN-Conv32-BN-MaxPool-Dropout d1][Conv64-BN-Conv64-BN-MaxPool-Dropout d2][Conv128-BN-MaxPool-Dropout
d3] Flatten Dense128-BN-Dropout d4 Dense10 with Mish, He-uniform initialisation, L2 0.001 on the conv kernels,
Adam, batch 128, up to 100 epochs with early stopping (patience 10). Pixels / 255, standardised per channel;
augmentation: rotation 15, horizontal flip, shift 0.1. The search adds the activation, the dropout ladder,
the learning rate, the weight decay and the base filter count.

Differences: Keras' l2(0.001) adds 0.001*sum(w^2) to the loss, which is torch's coupled weight_decay 0.002
on the conv kernels only; the report's early stopping watched training accuracy and validated on the test
set, here it watches val_loss on 10% of the training batches and the test set stays unseen until the end.
"""

from tunebench.benchmark import Benchmark, tune

BENCHMARK = Benchmark(
    name="cnn-cifar10",
    seed_report="001",
    dataset="cifar10",
    model="cifar-cnn",
    max_epochs=100,
    defaults=dict(
        activation="mish", dropout_1=0.2, dropout_2=0.3, dropout_3=0.4, dropout_4=0.5, base_filters=32,
        optimizer="adam", lr=1e-3, weight_decay=0.002, lr_schedule="constant", batch_size=128, patience=10,
        image_size=32, resize="square", normalize="cifar10", augment="cifar", weights="none",
        limit_per_class=None, workers=0,
    ),
    space=dict(
        activation=tune.choice(["mish", "relu", "gelu"]),
        dropout_1=tune.uniform(0.1, 0.4),
        dropout_2=tune.uniform(0.1, 0.5),
        dropout_3=tune.uniform(0.2, 0.5),
        dropout_4=tune.uniform(0.3, 0.6),
        lr=tune.loguniform(1e-4, 1e-2),
        weight_decay=tune.loguniform(1e-5, 1e-2),
        base_filters=tune.choice([16, 32, 48, 64]),
    ),
    smoke=dict(max_epochs=2, num_samples=2, limit_per_class=8, batch_size=32),
    description="The report's Mish/BN/dropout CNN on CIFAR-10, Adam, early stopping",
)

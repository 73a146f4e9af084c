"""The report's 3-block CNN on Kaggle Dogs vs Cats and its KerasTuner random search (report 004, Keras).

Base: 3 x [Conv 3x3 ReLU He-uniform 'same' -> MaxPool 2 -> Dropout 0.2] with 32/64/128 filters, Flatten,
Dense256 ReLU, Dropout 0.5, one sigmoid output with binary cross-entropy; 200x200 images rescaled by 1/255;
early stopping on val_loss (patience 15) restoring the best weights. Variant #1 doubles the filters
(variant=wide), #2 puts two convolutions in each block (variant=double). The report's random search: filters,
dropouts, dense units and optimizer adam|sgd (the space below, exactly), 10 trials, each configuration
trained 3 times with different seeds and scored by the mean (executions=3), 50 epochs at most. Run it as
`tunebench search cnn-catsdogs --search random --num-samples 10`. `--search grid` runs the report's
comparison: variant x colour x augmentation. Splits 80/10/10 (default) or `--set split=64/16/20`.

Differences: Keras' 'sgd'/'adam' strings are SGD(0.01) and Adam(0.001); lr=none keeps those defaults.
Keras fills shifted/rotated pixels with the nearest pixel, torchvision with black. dropout_4=none takes the
variant's value from the report (0.5 base, 0.4 for #1 and #2).
"""

from tunebench.benchmark import Benchmark, tune

BENCHMARK = Benchmark(
    name="cnn-catsdogs",
    seed_report="004",
    dataset="dogs-vs-cats",
    model="catsdogs-cnn",
    max_epochs=50,
    defaults=dict(
        variant="base", conv_1_filter=None, conv_2_filter=None, conv_3_filter=None, dropout_1=0.2, dropout_2=0.2,
        dropout_3=0.2, dropout_4=None, dense_1_units=256, optimizer="adam", lr=None, momentum=0.0, weight_decay=0.0,
        lr_schedule="constant", loss="bce", executions=3, patience=15, restore_best=True, batch_size=64,
        image_size=200, resize="square", normalize="unit", color="rgb", augment="keras", split="80/10/10",
        weights="none", limit_per_class=None, workers=0,
    ),
    # KerasTuner's RandomSearch space of the report, value for value
    space=dict(
        conv_1_filter=tune.choice([32, 48, 64]),
        dropout_1=tune.choice([0.1, 0.2, 0.3, 0.4]),
        conv_2_filter=tune.choice([64, 96, 128]),
        dropout_2=tune.choice([0.1, 0.2, 0.3]),
        conv_3_filter=tune.choice([128, 192, 256]),
        dropout_3=tune.choice([0.1, 0.2, 0.3]),
        dense_1_units=tune.choice([128, 160, 192, 224, 256]),
        dropout_4=tune.choice([0.2, 0.3, 0.4]),
        optimizer=tune.choice(["adam", "sgd"]),
    ),
    grid=dict(variant=("base", "wide", "double"), color=("rgb", "grayscale"), augment=("none", "keras")),
    smoke=dict(max_epochs=2, num_samples=2, image_size=64, limit_per_class=8, batch_size=16),
    description="3-block CNN on Dogs vs Cats, KerasTuner's random search, 3 executions per configuration",
)

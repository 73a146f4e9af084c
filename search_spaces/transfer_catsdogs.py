"""VGG16 and MobileNetV2 transfer learning then fine-tuning on Kaggle Dogs vs Cats (report 004, Keras).

One trial trains in two stages: the ImageNet backbone frozen under the report's head (VGG16: Flatten-Dense256-
Dense256-1; MobileNetV2: GAP-Dense128-Dense64-1; sigmoid + binary cross-entropy), then unfrozen (VGG16: all
of it; MobileNetV2: from block_16 on, BatchNorm kept frozen) at a lower learning rate. Values left as None
take the report's recipe for the backbone: VGG16 SGD(momentum 0.9) lr 1e-3 for 3 epochs, then 5e-5 for 3;
MobileNetV2 Adam 1e-4 for 4 epochs, then 1e-5 for 9. The `stage` metric and `trainable_params` per epoch
show the boundary in MLflow's curves. Test accuracy: VGG16 0.9828 / 0.9880 fine-tuned, MobileNetV2
0.9896 / 0.9904.

Differences: torchvision's ImageNet weights expect ImageNet normalisation (Keras' VGG16 preprocessing
subtracts BGR means); the report's augmentation is the same as cnn-catsdogs'.
"""

from tunebench.benchmark import Benchmark, tune

BENCHMARK = Benchmark(
    name="transfer-catsdogs",
    seed_report="004",
    dataset="dogs-vs-cats",
    model="transfer",
    max_epochs=13,
    defaults=dict(
        backbone="vgg16", weights="imagenet", optimizer=None, lr=None, fine_tune_lr=None, frozen_epochs=None,
        fine_tune_epochs=None, momentum=0.9, weight_decay=0.0, lr_schedule="constant", loss="bce", batch_size=64,
        image_size=224, resize="square", normalize="imagenet", color="rgb", augment="keras", split="80/10/10",
        patience=None, limit_per_class=None, workers=0,
    ),
    space=dict(
        backbone=tune.choice(["vgg16", "mobilenet_v2"]),
        lr=tune.loguniform(1e-5, 1e-2),
        fine_tune_lr=tune.loguniform(1e-6, 1e-3),
    ),
    grid=dict(backbone=("vgg16", "mobilenet_v2")),
    smoke=dict(max_epochs=2, num_samples=2, frozen_epochs=1, fine_tune_epochs=1, image_size=64, limit_per_class=8,
               batch_size=16, weights="none"),
    description="VGG16 / MobileNetV2 frozen then fine-tuned in one trial, Dogs vs Cats",
)

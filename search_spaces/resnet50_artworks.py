"""ResNet50 on Kaggle's "Best Artworks of All Time", 50 painters (report 002, PyTorch in the original).

The report resized to 224x224, standardised each channel, rotated by random multiples of 90 degrees, and
trained torchvision's ResNet50 (fc -> 50) with Adam and ExponentialLR(gamma 0.7): from scratch at lr 3e-3,
fine-tuned from ImageNet at 3e-4, fine-tuned with layer1-4 frozen (freeze_depth 5: only fc trains) and with
layer1-3 frozen (freeze_depth 4: layer4 + fc train), and a modified ResNet50 (GELU, depthwise 3x3
convolutions, CBAM attention in every bottleneck: model=resnet50-modified). Classes are imbalanced, so the
search maximises the per-class mean accuracy (macro recall, the report's "MacroAVG accuracy"); macro F1 is
logged too and the test split's per-class report is an artifact.

Differences: the report states no batch size or epoch count (32 and 20 here); "per-channel standardisation"
uses ImageNet's statistics (what the pretrained weights expect); the stem counts as a stage of freeze_depth.
For a from-scratch run use the report's lr: `--set weights=none lr=3e-3`. The report's five experiments, each at
its own learning rate: `tunebench study resnet50-artworks`.
"""

from tunebench.benchmark import Benchmark, tune, when

BENCHMARK = Benchmark(
    name="resnet50-artworks",
    seed_report="002",
    dataset="artworks",
    model="resnet50",
    max_epochs=20,
    defaults=dict(
        model="resnet50", weights="imagenet", freeze_depth=0, optimizer="adam", lr=3e-4, weight_decay=0.0,
        lr_schedule="exponential", gamma=0.7, batch_size=32, image_size=224, resize="square", normalize="imagenet",
        augment="rot90", patience=None, limit_per_class=None, workers=0,
    ),
    space=dict(
        model=tune.choice(["resnet50", "resnet50-modified"]),
        weights=tune.choice(["none", "imagenet"]),
        freeze_depth=tune.choice([0, 1, 2, 3, 4, 5]),
        lr=tune.loguniform(1e-5, 1e-2),
        gamma=tune.uniform(0.5, 0.95),
    ),
    # frozen stages of random weights train a head on random features: freeze_depth is searched with ImageNet
    # weights only (0 elsewhere)
    conditions=dict(freeze_depth=when(weights="imagenet")),
    # the report's values for fine-tuning (--search grid): freeze depth, then the modified network; its five
    # experiments, scratch included at its own lr, are the study (tunebench study resnet50-artworks)
    grid=dict(freeze_depth=(0, 5, 4), model=("resnet50", "resnet50-modified")),
    metric="val_macro_recall",
    smoke=dict(max_epochs=2, num_samples=2, image_size=64, limit_per_class=2, batch_size=16, weights="none"),
    description="ResNet50 (or CBAM-modified) on 50 painters, Adam + ExponentialLR, freeze depth, macro metrics",
)

"""AlexNet on Caltech101 (report 003, "Homework 2", PyTorch in the original).

The report trained torchvision's AlexNet with the last Linear resized to 101 classes: SGD momentum 0.9,
batch 256, 30 epochs, StepLR(step_size, gamma), Resize 256 / CenterCrop 224, normalised with 0.5 from
scratch and ImageNet statistics when pretrained. It searched lr, step_size, weight_decay and gamma one at a
time ("keep the best, search the next"): `--search coordinate` reruns exactly that, `--search grid` the whole
product. Pretrained, freeze and augmentation studies: `--set weights=imagenet freeze=conv augment=...`.
The report's train/test split files (train.txt / test.txt) are used when present in the data folder.
"""

from search_spaces._caltech import DEFAULTS, GRID, SMOKE, SPACE
from tunebench.benchmark import Benchmark

BENCHMARK = Benchmark(
    name="alexnet-caltech",
    seed_report="003",
    dataset="caltech101",
    model="alexnet",
    max_epochs=30,
    defaults=DEFAULTS,
    space=SPACE,
    grid=GRID,
    reference={
        "scratch, default": 0.09,
        "scratch, tuned (lr 1e-1)": 0.41,
        "pretrained (imagenet)": 0.81,
        "pretrained, tuned (step_size 5)": 0.82,
        "pretrained, freeze conv": 0.84,
        "pretrained, freeze conv, augment gray+jitter": 0.82,
    },
    # The report's one-factor tables from scratch: hyperparameters -> validation loss / accuracy.
    reference_sweeps=(
        dict(lr=1e-3, step_size=20, weight_decay=5e-5, gamma=0.1, val_loss=4.55, val_acc=0.09),
        dict(lr=1e-2, step_size=20, weight_decay=5e-5, gamma=0.1, val_loss=3.24, val_acc=0.31),
        dict(lr=1e-1, step_size=20, weight_decay=5e-5, gamma=0.1, val_loss=2.85, val_acc=0.40),
        dict(lr=1e-2, step_size=15, weight_decay=5e-5, gamma=0.1, val_loss=3.49, val_acc=0.26),
        dict(lr=1e-2, step_size=10, weight_decay=5e-5, gamma=0.1, val_loss=4.18, val_acc=0.15),
        dict(lr=1e-2, step_size=5, weight_decay=5e-5, gamma=0.1, val_loss=4.24, val_acc=0.09),
        dict(lr=1e-2, step_size=20, weight_decay=5e-4, gamma=0.1, val_loss=3.34, val_acc=0.28),
        dict(lr=1e-2, step_size=20, weight_decay=5e-6, gamma=0.1, val_loss=3.35, val_acc=0.29),
        dict(lr=1e-2, step_size=20, weight_decay=5e-5, gamma=0.2, val_loss=3.31, val_acc=0.30),
        dict(lr=1e-2, step_size=20, weight_decay=5e-5, gamma=0.3, val_loss=3.16, val_acc=0.30),
        dict(lr=1e-2, step_size=20, weight_decay=5e-5, gamma=0.5, val_loss=2.95, val_acc=0.35),
    ),
    smoke=SMOKE,
    description="AlexNet on Caltech101, scratch or ImageNet-pretrained, SGD + StepLR",
)

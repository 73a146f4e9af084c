"""AlexNet on Caltech101 (report 003, "Homework 2", PyTorch in the original).

The report trained torchvision's AlexNet with the last Linear resized to 101 classes: SGD momentum 0.9,
batch 256, 30 epochs, StepLR(step_size, gamma), Resize 256 / CenterCrop 224, normalised with 0.5 from
scratch and ImageNet statistics when pretrained. It searched lr, then step_size, weight_decay and gamma one at a
time at lr 1e-2 ("keep the best, search the next"), and its pretrained table one factor at a time around a fixed
point: `tunebench study alexnet-caltech` reruns the report's tables as the report ran them. Here `--search
coordinate` is the pure keep-the-best, `--search oneway` one factor at a time around the defaults, `--search grid`
the whole product; `--set weights=imagenet freeze=conv augment=...` for the pretrained variants.
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
    smoke=SMOKE,
    description="AlexNet on Caltech101, scratch or ImageNet-pretrained, SGD + StepLR",
)

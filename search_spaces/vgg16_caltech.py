"""VGG16 on Caltech101 (report 003, "Beyond AlexNet").

Same data, transforms, optimiser and search as alexnet-caltech; the report ran batch size 8 on a 12 GB K80.
torchvision's vgg16, last classifier Linear resized to 101. freeze=conv trains the classifier only;
freeze=fc trains the convolutions only.
"""

from search_spaces._caltech import DEFAULTS, GRID, SMOKE, SPACE
from tunebench.benchmark import Benchmark

BENCHMARK = Benchmark(
    name="vgg16-caltech",
    seed_report="003",
    dataset="caltech101",
    model="vgg16",
    max_epochs=30,
    defaults={**DEFAULTS, "batch_size": 8},
    space=SPACE,
    grid=GRID,
    reference={"vgg16": 0.84},
    smoke={**SMOKE, "batch_size": 8},
    description="VGG16 on Caltech101, SGD + StepLR (report: batch 8)",
)

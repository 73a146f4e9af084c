"""ResNet50 on Caltech101 (report 003, "Beyond AlexNet").

Same data, transforms, optimiser and search as alexnet-caltech; the report had to drop the batch size to 16
to fit a 12 GB K80 and ran "almost the default parameters". torchvision's resnet50, fc resized to 101.
freeze=conv trains fc only; freeze=fc trains everything but fc.
"""

from search_spaces._caltech import caltech_benchmark

BENCHMARK = caltech_benchmark("resnet50-caltech", "resnet50", batch_size=16,
                              description="ResNet50 on Caltech101, SGD + StepLR (report: batch 16)")

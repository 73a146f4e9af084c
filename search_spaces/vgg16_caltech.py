"""VGG16 on Caltech101 (report 003, "Beyond AlexNet").

Same data, transforms, optimiser and search as alexnet-caltech; the report ran batch size 8 on a 12 GB K80.
torchvision's vgg16, last classifier Linear resized to 101. freeze=conv trains the classifier only;
freeze=fc trains the convolutions only.
"""

from search_spaces._caltech import caltech_benchmark

BENCHMARK = caltech_benchmark("vgg16-caltech", "vgg16", batch_size=8,
                              description="VGG16 on Caltech101, SGD + StepLR (report: batch 8)")

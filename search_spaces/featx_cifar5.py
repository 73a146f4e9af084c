"""Frozen ImageNet VGG16 / ResNet50 cut at several depths + a linear SVM on 5 CIFAR classes (report 000, Keras).

CIFAR-10 restricted to dog, frog, horse, ship and truck (20k train, 5k test, validation carved from train).
Features of each cut are extracted once, flattened, standardised with training statistics, and fed to
scikit-learn's LinearSVC (L2 penalty, squared hinge, 1000 iterations). A trial is one (extractor, C); the
report's cuts are the grid (C 1.0, scikit-learn's default, as in the report). The Keras layer names map to
torchvision modules as documented in tunebench/models/feature_extractors.py (block3_conv1 = features[:12],
conv3_block4_out = layer2, ...). Features are cached per extractor, so the trials of a cut share one pass.

Differences: Keras' VGG preprocessing subtracts BGR means, torchvision's weights expect ImageNet mean/std;
images stay at CIFAR's 32x32 as in the report.
"""

from tunebench.benchmark import Benchmark, tune

EXTRACTORS = ("vgg16.block3_conv1", "vgg16.block4_conv1", "vgg16.block5_conv1", "resnet50.conv2_block3_out",
              "resnet50.conv3_block4_out", "resnet50.conv4_block6_out", "resnet50.conv5_block3_out")

BENCHMARK = Benchmark(
    name="featx-cifar5",
    seed_report="000",
    dataset="cifar5",
    model="linear-svm",
    max_epochs=1,
    trainer="feature-svm",
    defaults=dict(extractor="vgg16.block4_conv1", C=1.0, max_iter=1000, weights="imagenet", image_size=32,
                  resize="square", normalize="imagenet", batch_size=256, limit_per_class=None, workers=0),
    space=dict(extractor=tune.choice(list(EXTRACTORS)), C=tune.loguniform(1e-4, 10.0)),
    grid=dict(extractor=EXTRACTORS, C=(1.0,)),
    smoke=dict(num_samples=2, limit_per_class=8, batch_size=64, weights="none"),
    description="Frozen VGG16/ResNet50 features cut at the report's layers + linear SVM, 5 CIFAR classes",
)

"""Model registry and the registered models."""

from tunebench.models import tiny as _tiny  # noqa: F401  (registers tiny-cnn)
from tunebench.models import torchvision_models as _torchvision_models  # noqa: F401
from tunebench.models import cbam_resnet as _cbam_resnet  # noqa: F401  (registers resnet50-modified)
from tunebench.models import inception as _inception  # noqa: F401  (registers inception-transfer)
from tunebench.models import cifar_cnn as _cifar_cnn  # noqa: F401  (registers cifar-cnn)
from tunebench.models import catsdogs_cnn as _catsdogs_cnn  # noqa: F401  (registers catsdogs-cnn)
from tunebench.models import transfer as _transfer  # noqa: F401  (registers transfer)
from tunebench.models.registry import MODELS, build_model, model_hparams, set_freeze, trainable_parameters
from tunebench.models.torchvision_models import fetch_weights
from tunebench.models.weights import BACKBONE, IMAGENET_SOURCES, imagenet_sources

__all__ = ["BACKBONE", "IMAGENET_SOURCES", "MODELS", "build_model", "fetch_weights", "imagenet_sources",
           "model_hparams", "set_freeze", "trainable_parameters"]

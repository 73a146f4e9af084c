"""Model registry and the registered models."""

from tunebench.models import tiny as _tiny  # noqa: F401  (registers tiny-cnn)
from tunebench.models import torchvision_models as _torchvision_models  # noqa: F401
from tunebench.models.registry import MODELS, build_model, set_freeze, trainable_parameters
from tunebench.models.torchvision_models import fetch_weights

__all__ = ["MODELS", "build_model", "fetch_weights", "set_freeze", "trainable_parameters"]

"""Model registry, the registered models and the frozen feature extractors.

Importing a model module registers its models; everything a caller needs is re-exported here.
"""

from tunebench.models import (catsdogs_cnn, cbam_resnet, cifar_cnn, feature_extractors, inception, tiny,
                              torchvision_models, transfer)
from tunebench.models.feature_extractors import (EXTRACTORS, ExtractorSpec, build_extractor, extractor_names,
                                                 extractor_normalization, extractor_sources, feature_dim)
from tunebench.models.registry import (FREEZE_MODES, MODELS, WEIGHTS, ModelSpec, build_model, imagenet_sources,
                                       input_normalization, model_hparams, set_freeze, trainable_parameters,
                                       with_recipe)
from tunebench.models.resnets import MAX_FREEZE_DEPTH
from tunebench.models.weights import fetch_weights

__all__ = [
    "EXTRACTORS", "ExtractorSpec", "FREEZE_MODES", "MAX_FREEZE_DEPTH", "MODELS", "ModelSpec", "WEIGHTS",
    "build_extractor", "build_model", "extractor_names", "extractor_normalization", "extractor_sources",
    "feature_dim", "fetch_weights", "imagenet_sources", "input_normalization", "model_hparams", "set_freeze",
    "trainable_parameters", "with_recipe",
    # the model modules (importing them registers their models)
    "catsdogs_cnn", "cbam_resnet", "cifar_cnn", "feature_extractors", "inception", "tiny", "torchvision_models",
    "transfer",
]

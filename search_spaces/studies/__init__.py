"""The shipped studies, one per report: an explicit dict keyed by CLI name (`tunebench study NAME`)."""

from __future__ import annotations

from search_spaces.studies import alexnet_caltech, cnn_catsdogs, cnn_cifar10, featx_cifar5, resnet50_artworks
from tunebench import TunebenchError
from tunebench.study import Study

_MODULES = (featx_cifar5, cnn_cifar10, resnet50_artworks, alexnet_caltech, cnn_catsdogs)  # in report order
STUDIES: dict[str, Study] = {module.STUDY.name: module.STUDY for module in _MODULES}
# each module's docstring: what the report ran and what tunebench chose where it is silent (--dry-run prints it)
NOTES: dict[str, str] = {module.STUDY.name: (module.__doc__ or "").strip() for module in _MODULES}


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise TunebenchError(f"unknown study '{name}' (known: {', '.join(STUDIES)})")
    return STUDIES[name]

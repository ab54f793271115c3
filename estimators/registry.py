"""Name -> estimator class, imported lazily (timm's create_model style).

Lazy imports keep ``create_estimator("knn")`` free of torch: only the CNN entries import it.
Add a method by adding one line to ``_REGISTRY``: ``name: "module:Class"``.
"""

from __future__ import annotations

import importlib

from estimators.base import GazeEstimator, UserError

_REGISTRY: dict[str, str] = {
    "mean": "estimators.mean:MeanGaze",
    "knn": "estimators.knn:KNNGaze",
    "svr": "estimators.svr:SVRGaze",
    "rf": "estimators.rf:RFGaze",  # Sugano et al. 2014, head-pose-clustered
    "rf-plain": "estimators.rf_plain:PlainRFGaze",  # one forest, no clustering
    "alr": "estimators.alr:ALRGaze",  # Lu et al. 2014, signed sparse weights
    "alr-nnls": "estimators.alr_nnls:ALRNNLSGaze",  # non-negative (convex-hull) variant
    "mpiigaze-cnn": "estimators.multimodal_cnn:MultimodalGazeCNN",  # Zhang et al. 2015
    "cnn": "estimators.cnn:GazeCNN",  # "cnn:<timm model>" passes backbone=<timm model>
}


def list_estimators() -> list[str]:
    """Registered estimator names, sorted."""
    return sorted(_REGISTRY)


def get_estimator_class(name: str) -> type[GazeEstimator]:
    """The class behind a registered name (the part before any ':' qualifier)."""
    base = name.split(":", 1)[0]
    if base not in _REGISTRY:
        raise UserError(f"unknown estimator {name!r}; available: {', '.join(list_estimators())}")
    module_name, class_name = _REGISTRY[base].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_estimator(name: str, **params) -> GazeEstimator:
    """Build an estimator by name, e.g. ``create_estimator("knn", n_neighbors=5)``.

    A name with a qualifier, ``"cnn:resnet18"``, passes the qualifier as ``backbone=``.
    """
    cls = get_estimator_class(name)
    if ":" in name:
        params = {"backbone": name.split(":", 1)[1], **params}
    return cls(**params)

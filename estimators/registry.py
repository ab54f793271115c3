"""Name -> estimator class, imported lazily (timm's create_model style), plus plug-ins.

Lazy imports keep ``create_estimator("knn")`` free of torch: only the CNN entries import it.
Add a built-in by adding one line to ``_REGISTRY``: ``name: "module:Class"``. Installed packages
add more through the ``gazebench.estimators`` entry-point group (estimators/plugins.py).
"""

from __future__ import annotations

from estimators.base import GazeEstimator
from estimators.plugins import ESTIMATOR_GROUP, Registry

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
ESTIMATOR_METHODS = ("fit", "predict", "get_params", "set_params")
ESTIMATORS = Registry("estimator", ESTIMATOR_GROUP, _REGISTRY, ESTIMATOR_METHODS)


def list_estimators() -> list[str]:
    """Registered estimator names (built-ins and installed plug-ins), sorted."""
    return ESTIMATORS.names()


def is_plugin_estimator(name: str) -> bool:
    """True when ``name`` (before any ':' qualifier) is an installed plug-in, not a built-in."""
    return ESTIMATORS.is_plugin(name.split(":", 1)[0])


def get_estimator_class(name: str) -> type[GazeEstimator]:
    """The class behind a registered name (the part before any ':' qualifier)."""
    return ESTIMATORS.get_class(name.split(":", 1)[0], asked=name)


def create_estimator(name: str, **params) -> GazeEstimator:
    """Build an estimator by name, e.g. ``create_estimator("knn", n_neighbors=5)``.

    A name with a qualifier, ``"cnn:resnet18"``, passes the qualifier as ``backbone=``.
    """
    base, _, qualifier = name.partition(":")
    if qualifier:
        params = {"backbone": qualifier, **params}
    return ESTIMATORS.create(base, params, asked=name)

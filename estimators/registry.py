"""Name -> estimator class, imported lazily (timm's create_model style), plus plug-ins.

Lazy imports keep ``create_estimator("knn")`` free of torch: only the CNN entries import it.
Add a built-in by adding one line to ``_REGISTRY``: ``name: "module:Class"``. Installed packages
add more through the ``gazebench.estimators`` entry-point group (estimators/plugins.py).
"""

from __future__ import annotations

from estimators.base import GazeEstimator, UserError
from estimators.plugins import (
    ESTIMATOR_GROUP,
    instantiate,
    load_object,
    plugin_label,
    plugin_specs,
    require_methods,
)

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


def list_estimators() -> list[str]:
    """Registered estimator names (built-ins and installed plug-ins), sorted."""
    return sorted({**_REGISTRY, **plugin_specs(ESTIMATOR_GROUP, _REGISTRY)})


def is_plugin_estimator(name: str) -> bool:
    """True when ``name`` (before any ':' qualifier) is an installed plug-in, not a built-in."""
    base = name.split(":", 1)[0]
    return base not in _REGISTRY and base in plugin_specs(ESTIMATOR_GROUP, _REGISTRY)


def get_estimator_class(name: str) -> type[GazeEstimator]:
    """The class behind a registered name (the part before any ':' qualifier)."""
    base = name.split(":", 1)[0]
    if base in _REGISTRY:
        return load_object(_REGISTRY[base], "estimator", base, plugin=False)
    plugins = plugin_specs(ESTIMATOR_GROUP, _REGISTRY)
    if base not in plugins:
        raise UserError(f"unknown estimator {name!r}; available: {', '.join(list_estimators())}")
    cls = load_object(plugins[base], "estimator", base, plugin=True)
    require_methods(cls, ESTIMATOR_METHODS, plugin_label("estimator", base, plugins[base]))
    return cls


def create_estimator(name: str, **params) -> GazeEstimator:
    """Build an estimator by name, e.g. ``create_estimator("knn", n_neighbors=5)``.

    A name with a qualifier, ``"cnn:resnet18"``, passes the qualifier as ``backbone=``.
    """
    cls = get_estimator_class(name)
    if ":" in name:
        params = {"backbone": name.split(":", 1)[1], **params}
    base = name.split(":", 1)[0]
    if base in _REGISTRY:
        return cls(**params)
    spec = plugin_specs(ESTIMATOR_GROUP, _REGISTRY)[base]
    return instantiate(cls, params, plugin_label("estimator", base, spec))

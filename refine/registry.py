"""Name -> refiner class: the built-ins, imported lazily, plus installed plug-ins.

Built-ins: ``simgan`` (refine/simgan.py, the paper's method), ``simgan-lit`` (SimGAN with the
departures of refine.config.LIT_RECIPE), ``identity`` (the control row), and the non-GAN
baselines ``histmatch``, ``lightmatch`` (the real pool's light alone) and ``degrade``. Installed
packages add more through the ``gazebench.refiners`` entry-point group (``name = "module:Class"``,
see estimators/plugins.py). A plug-in is imported only when a run asks for it, and everything it
can get wrong is reported as one UserError line: an import error, a missing method, a constructor
that rejects its params, and (through :func:`checked_transform`) output of the wrong shape or
dtype, or NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from estimators.base import UserError
from estimators.plugins import REFINER_GROUP, Registry
from refine.base import REFINER_METHODS, check_refined

_REGISTRY: dict[str, str] = {
    "simgan": "refine.simgan:SimGANRefiner",
    "simgan-lit": "refine.simgan:SimGANLitRefiner",
    "identity": "refine.base:IdentityRefiner",
    "histmatch": "refine.histmatch:HistMatchRefiner",
    "lightmatch": "refine.lightmatch:LightMatchRefiner",
    "degrade": "refine.degrade:DegradeRefiner",
}
REFINERS = Registry("refiner", REFINER_GROUP, _REGISTRY, REFINER_METHODS)


def list_refiners() -> list[str]:
    """Registered refiner names (built-ins and installed plug-ins), sorted."""
    return REFINERS.names()


def refiner_label(name: str) -> str:
    """How messages name a refiner: the built-in's name, or the plug-in and its entry point."""
    return REFINERS.label(name)


def get_refiner_class(name: str) -> type:
    """The class registered as ``name``; UserError for an unknown or broken one."""
    return REFINERS.get_class(name)


def create_refiner(name: str, **params: Any) -> Any:
    """Build a refiner by name, e.g. ``create_refiner("histmatch", strength=0.5)``."""
    return REFINERS.create(name, params)


def checked_fit(refiner: Any, name: str, synthetic, real, **info: Any) -> Any:
    """``refiner.fit(...)``; a plug-in's exception becomes one line naming it."""
    if name in _REGISTRY:
        return refiner.fit(synthetic, real, **info)
    try:
        return refiner.fit(synthetic, real, **info)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - foreign code raises anything
        raise UserError(f"{refiner_label(name)}: fit() failed: {type(e).__name__}: {e}") from None


def checked_transform(refiner: Any, name: str, images: np.ndarray) -> np.ndarray:
    """``refiner.transform(images)`` checked to be (n, 36, 60) uint8 without NaN."""
    try:
        out = refiner.transform(images)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001
        if name in _REGISTRY:
            raise
        raise UserError(
            f"{refiner_label(name)}: transform() failed: {type(e).__name__}: {e}"
        ) from None
    return check_refined(out, len(images), refiner_label(name))

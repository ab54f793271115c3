"""How far a refiner moves the iris, measured where the renderer knows where it drew it (demo only).

The demo renderer places every iris itself (``demo.iris_centres_px``). A frozen, tone-invariant
iris locator (refine.probe) is trained on fresh ``sim`` renders with those pixel centres as
targets, then read on other renders x and on the refiner's output R(x): the shift
loc(R(x)) - loc(x), in pixels of the 36x60 patch, says whether the refiner moved the iris, and
its dependence on gaze eccentricity says whether it pulls eccentric gazes toward the centre
(what a discriminator that sees the real pool's narrower gaze range would pay for).
Pixels here are 36x60 store pixels; 1 px is about 4 deg of gaze for the demo's eyeballs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.datasets.demo import iris_centres_px, render, sample_params
from benchmarks.datasets.demo_looks import LOOKS
from refine.probe import FrozenProbe, ProbeSpec

ECCENTRICITY_BINS_DEG = (0.0, 10.0, 20.0, 30.0, 90.0)
_LOCATORS: dict[tuple, FrozenProbe] = {}


def render_sim_with_iris(
    n: int, seed: int, iris_shift_px: tuple[float, float] = (0.0, 0.0)
) -> dict[str, np.ndarray]:
    """n fresh ``sim`` renders: images (n, 36, 60) uint8, gaze/head (n, 2) float32 radians and
    iris (n, 2) float32 (x, y) pixel centres; ``iris_shift_px`` draws every iris that far off
    where its gaze puts it (a planted label error; ``iris`` then says where it was drawn)."""
    look = LOOKS["sim"]
    p = sample_params(look, np.random.default_rng([seed, 31]), n)
    p["iris_dx_px"] = np.full(n, iris_shift_px[0], np.float32)
    p["iris_dy_px"] = np.full(n, iris_shift_px[1], np.float32)
    return {
        "images": render(look, p, np.random.default_rng([seed, 32])),
        "gaze_pitchyaw_rad": np.stack([p["gaze_pitch"], p["gaze_yaw"]], 1),
        "head_pitchyaw_rad": np.stack([p["head_pitch"], p["head_yaw"]], 1),
        "iris": iris_centres_px(p),
    }


def iris_locator(n_train: int = 4000, seed: int = 0) -> FrozenProbe:
    """The frozen locator of (x, y) iris pixel centres, trained on n_train renders (memoised)."""
    key = (n_train, seed)
    if key not in _LOCATORS:
        train = render_sim_with_iris(n_train, seed + 100)
        _LOCATORS[key] = FrozenProbe(ProbeSpec(seed=seed)).fit(train["images"], train["iris"])
    return _LOCATORS[key]


def iris_shift(
    refine_fn: Callable[[np.ndarray], np.ndarray], n: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Measure a refiner's iris shift on n fresh renders.

    refine_fn: (n, 36, 60) uint8 -> (n, 36, 60) uint8, row for row (any refiner's transform).
    Returns a JSON-able dict: the locator's own error on x (px), the median and 90th percentile
    of |loc(R(x)) - loc(x)|, the share of images moved over 1 and 2 px, the mean shift along the
    iris's offset from the image centre (negative: pulled toward the centre), and the median
    shift per gaze-eccentricity bin.
    """
    loc = iris_locator(seed=seed)
    data = render_sim_with_iris(n, seed + 200)
    x = data["images"]
    pred_x, pred_r = loc.predict(x), loc.predict(np.asarray(refine_fn(x)))
    shift = pred_r - pred_x
    mag = np.hypot(shift[:, 0], shift[:, 1])
    offset = data["iris"] - data["iris"].mean(0)
    unit = offset / np.maximum(np.hypot(offset[:, 0], offset[:, 1]), 1e-6)[:, None]
    gaze = data["gaze_pitchyaw_rad"].astype(np.float64)
    ecc = np.rad2deg(np.arccos(np.clip(np.cos(gaze[:, 0]) * np.cos(gaze[:, 1]), -1, 1)))
    by_bin = {}
    edges = ECCENTRICITY_BINS_DEG
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (ecc >= lo) & (ecc < hi)
        if m.any():
            by_bin[f"{lo:g}-{hi:g}"] = float(np.median(mag[m]))
    return {
        "n": int(n),
        "locator_err_px_on_x": float(np.hypot(*(pred_x - data["iris"]).T).mean()),
        "iris_shift_px_median": float(np.median(mag)),
        "iris_shift_px_p90": float(np.percentile(mag, 90)),
        "iris_shift_share_over_1px": float((mag > 1.0).mean()),
        "iris_shift_share_over_2px": float((mag > 2.0).mean()),
        "iris_pull_px_mean": float((shift * unit).sum(1).mean()),
        "iris_shift_px_median_by_eccentricity_deg": by_bin,
        "note": "loc(R(x)) - loc(x) of a frozen tone-invariant iris locator, 36x60 pixels; "
        "pull < 0: irises moved toward the centre",
    }

"""Label preservation without refitting: a frozen gaze probe read on x and on R(x).

``label_ratio_no_refit`` = the probe's mean angular error on R(x) / its error on x, for the same
synthetic images and labels. The probe (refine.probe) is trained once on *other* synthetic
images of the same store, with their synthetic labels only, and is tone-invariant by
construction (rank-normalised inputs, photometric augmentation): a refiner that only changes grey
levels, blur or noise scores about 1; one that moves or erases the iris scores clearly above
(tests/test_labelcheck.py plants both). Unlike a ridge *refit* on R(x), which re-learns any smooth
remap of the gaze and passes a refiner that moved every iris, the frozen probe sees the move.

Probes are memoised in-process by a hash of their training images, labels and spec, so the
snapshot selection, the end-of-run diagnostics and a leaderboard's refiners on one synthetic
store train one probe.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from estimators.geometry import mean_angular_error_deg
from refine.probe import FrozenProbe, ProbeSpec

PROBE_N = 4000  # synthetic images the probe is trained on (disjoint from the scored ones)
_CACHE: dict[str, FrozenProbe] = {}


def probe_rows(n_synthetic: int, seed: int, k: int = PROBE_N) -> np.ndarray:
    """Sorted int64 rows of the k synthetic images a probe trains on (fixed by seed alone, so
    the snapshot selection and the diagnostics of one run share one probe). Scorers leave these
    rows out; a store too small to spare them (n < 2k) trains on half of it."""
    k = min(k, n_synthetic // 2)
    rng = np.random.default_rng([seed, 12])
    return np.sort(rng.choice(n_synthetic, k, replace=False))


def fit_gaze_probe(
    images: np.ndarray,
    gaze_pitchyaw_rad: np.ndarray,
    head_pitchyaw_rad: np.ndarray,
    spec: ProbeSpec | None = None,
) -> FrozenProbe:
    """A probe of gaze pitch/yaw (radians) from (n, h, w) uint8 images + head pose (memoised)."""
    spec = spec or ProbeSpec()
    h = hashlib.sha256()
    for arr in (images, gaze_pitchyaw_rad, head_pitchyaw_rad):
        a = np.ascontiguousarray(arr)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    h.update(repr(spec).encode())
    key = h.hexdigest()
    if key not in _CACHE:
        _CACHE[key] = FrozenProbe(spec).fit(images, gaze_pitchyaw_rad, head_pitchyaw_rad)
    return _CACHE[key]


def fit_gaze_probe_images_only(
    images: np.ndarray, gaze_pitchyaw_rad: np.ndarray, spec: ProbeSpec | None = None
) -> FrozenProbe:
    """A gaze probe from images alone (no head pose), e.g. to estimate an unlabelled pool's gaze."""
    zeros = np.zeros((len(images), 0))
    return fit_gaze_probe(images, gaze_pitchyaw_rad, zeros, spec)


def no_refit_errors(
    probe: FrozenProbe,
    x: np.ndarray,
    refined: np.ndarray,
    gaze_pitchyaw_rad: np.ndarray,
    head_pitchyaw_rad: np.ndarray,
) -> dict[str, Any]:
    """The frozen probe's mean angular error (degrees) on x and on R(x) (both (k, h, w) uint8,
    row for row, with x's (k, 2) radian labels) and their ratio, ``label_ratio_no_refit``."""
    on_x = mean_angular_error_deg(probe.predict(x, head_pitchyaw_rad), gaze_pitchyaw_rad)
    on_r = mean_angular_error_deg(probe.predict(refined, head_pitchyaw_rad), gaze_pitchyaw_rad)
    return {
        "probe_err_deg_on_x": float(on_x),
        "probe_err_deg_on_refined": float(on_r),
        "label_ratio_no_refit": float(on_r / on_x) if on_x > 0 else None,
    }

"""Synthetic batches whose gaze matches the real pool's: removing the discriminator's layout cue.

The synthetic renders look everywhere (the demo's ``sim``: pitch -30..25 deg, yaw +-35 deg;
UnityEyes likewise), the real pool mostly near the screen. A patch discriminator that sees the
iris against the lids can tell the two apart by *where the eye looks*, and then pays the refiner
to move irises toward the real pool's gaze, which breaks the label. Drawing the synthetic images
with weights w(g) = p_real(g) / p_synthetic(g) over a 2-D gaze histogram gives D batches whose
gaze matches the real pool's, so the cue is gone.

No real label is read: the real pool's gaze is *estimated* by a frozen, tone-invariant probe
(refine.probe) trained on synthetic images and their synthetic labels only (images alone, no
head pose, so it also runs where the real pool has none).
"""

from __future__ import annotations

import numpy as np

from refine.images import to_tensor, to_uint8

BINS = 8  # per axis of the gaze histogram
MAX_WEIGHT = 20.0  # a rare synthetic gaze may count at most this much more than average
N_ESTIMATE = 2000  # images of each pool the weights are estimated from


def gaze_matching_weights(
    synthetic: np.ndarray, synthetic_gaze_pitchyaw_rad: np.ndarray, real: np.ndarray, config
) -> np.ndarray:
    """(N,) float64 weights of the synthetic rows (mean 1): real-pool gaze density over synthetic
    gaze density, on a BINS x BINS pitch/yaw histogram spanning the synthetic labels."""
    from refine.labelcheck import fit_gaze_probe_images_only

    hw = tuple(config.input_hw)
    rng = np.random.default_rng([config.seed, 21])
    gaze = np.asarray(synthetic_gaze_pitchyaw_rad, np.float64)
    rows_s = np.sort(rng.choice(len(synthetic), min(4000, len(synthetic)), replace=False))
    rows_r = np.sort(rng.choice(len(real), min(N_ESTIMATE, len(real)), replace=False))
    probe = fit_gaze_probe_images_only(
        to_uint8(to_tensor(np.asarray(synthetic[rows_s]), hw)), gaze[rows_s]
    )
    est_real = probe.predict(to_uint8(to_tensor(np.asarray(real[rows_r]), hw)))
    lo, hi = gaze.min(0), gaze.max(0) + 1e-9
    edges = [np.linspace(lo[i], hi[i], BINS + 1) for i in range(2)]

    def hist(g: np.ndarray) -> np.ndarray:
        h, *_ = np.histogram2d(np.clip(g[:, 0], lo[0], hi[0] - 1e-9),
                               np.clip(g[:, 1], lo[1], hi[1] - 1e-9), bins=edges)  # fmt: skip
        return (h + 0.5) / (h.sum() + 0.5 * h.size)  # a pseudo-count: no empty bin divides

    ratio = hist(est_real) / hist(gaze)
    ix = [np.clip(np.searchsorted(edges[i], gaze[:, i], side="right") - 1, 0, BINS - 1)
          for i in range(2)]  # fmt: skip
    w = np.minimum(ratio[ix[0], ix[1]], MAX_WEIGHT * ratio.mean())
    return w / w.mean()

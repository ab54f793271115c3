"""Image features for the classic regressors (kNN, SVR, RF, ALR), with head pose appended.

What the MPIIGaze paper's cross-dataset baselines used (Zhang et al., CVPR 2015) is only partly
public, so the feature is a parameter of every classic estimator and each one documents its
default. The options:

- ``"pixels"``: histogram-equalised intensities downsampled to ``pixels_hw`` (default 9x15 H x W,
  the 15x9 eye image of Sugano et al. CVPR 2014, whose forest MPIIGaze re-ran), scaled to [0, 1].
- ``"lcn"``: local-contrast-normalised intensities: the patch minus its Gaussian blur (sigma 5 px,
  removing the slow illumination gradients of webcam images), downsampled to ``pixels_hw`` and
  divided by its own standard deviation. Not from the paper: a lighting-robust variant of
  ``"pixels"``; `bench select` prefers it for kNN on demo ``lab`` people (5.29 vs 6.52 deg).
- ``"hog"``: a HOG descriptor of the histogram-equalised 36x60 patch (6x6-pixel cells, 2x2-cell
  blocks with a one-cell stride, 9 unsigned orientation bins -> 5 x 9 blocks x 36 = 1,620 values;
  written here in numpy because OpenCV's headless wheels may lack ``cv2.HOGDescriptor``).
  MPIIGaze describes HOG features for its SVR baseline (after Schneider et al. 2014); the exact
  cell/block layout is not published, this one is our choice.
- ``"regions"``: Lu et al.'s (TPAMI 2014) low-dimensional feature: the patch split into 3 x 5
  regions, the summed intensity of each, normalised to sum to one (15 values).

Head pose is appended as (pitch, yaw) radians times ``head_weight`` after the image part, because
every baseline in MPIIGaze took head pose as an extra input. Images are processed in chunks, so a
memory-mapped (n, 36, 60) array is never converted to float all at once.
"""

from __future__ import annotations

import cv2
import numpy as np

from estimators.base import EyeData

FEATURES = ("pixels", "lcn", "hog", "regions")
_CHUNK = 4096


def _hist_eq(images: np.ndarray) -> np.ndarray:
    """Per-image histogram equalisation of (n, H, W) uint8 (OpenCV's global equalizeHist)."""
    return np.stack([cv2.equalizeHist(np.ascontiguousarray(im)) for im in images])


def _pixels(images: np.ndarray, pixels_hw: tuple[int, int]) -> np.ndarray:
    h, w = pixels_hw
    eq = _hist_eq(images)
    small = [cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in eq]
    return np.stack(small).reshape(len(images), -1).astype(np.float32) / 255.0


def _hog(images: np.ndarray, cell_px: int = 6, n_bins: int = 9) -> np.ndarray:
    """Dalal-Triggs HOG, vectorised over the batch: unsigned gradients binned by orientation
    (linear interpolation between the two nearest bins), 2x2-cell blocks with a one-cell stride,
    L2-Hys normalised (clip 0.2). (n, 36, 60) uint8 -> (n, 5 * 9 * 4 * n_bins) float32."""
    img = _hist_eq(images).astype(np.float32)
    gx = np.zeros_like(img)
    gy = np.zeros_like(img)
    gx[:, :, 1:-1] = img[:, :, 2:] - img[:, :, :-2]
    gy[:, 1:-1, :] = img[:, 2:, :] - img[:, :-2, :]
    mag = np.hypot(gx, gy)
    ang = np.rad2deg(np.arctan2(gy, gx)) % 180.0  # unsigned orientation in [0, 180)
    pos = ang / (180.0 / n_bins) - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    n, h, w = img.shape
    ch, cw = h // cell_px, w // cell_px
    lo_bin, hi_bin = lo % n_bins, (lo + 1) % n_bins
    w_lo, w_hi = mag * (1.0 - frac), mag * frac
    hist = np.stack(
        [
            np.where(lo_bin == b, w_lo, 0.0) + np.where(hi_bin == b, w_hi, 0.0)
            for b in range(n_bins)
        ],
        axis=-1,
    )
    cells = hist.reshape(n, ch, cell_px, cw, cell_px, n_bins).sum(axis=(2, 4))
    blocks = np.concatenate(
        [cells[:, :-1, :-1], cells[:, 1:, :-1], cells[:, :-1, 1:], cells[:, 1:, 1:]], axis=-1
    ).reshape(n, (ch - 1) * (cw - 1), 4 * n_bins)
    blocks /= np.linalg.norm(blocks, axis=-1, keepdims=True) + 1e-6
    blocks = np.minimum(blocks, 0.2)
    blocks /= np.linalg.norm(blocks, axis=-1, keepdims=True) + 1e-6
    return blocks.reshape(n, -1).astype(np.float32)


def _lcn(images: np.ndarray, pixels_hw: tuple[int, int], sigma_px: float = 5.0) -> np.ndarray:
    h, w = pixels_hw
    out = np.empty((len(images), h * w), np.float32)
    for i, im in enumerate(images):
        f = im.astype(np.float32)
        f = cv2.resize(
            f - cv2.GaussianBlur(f, (0, 0), sigma_px), (w, h), interpolation=cv2.INTER_AREA
        )
        out[i] = (f / (f.std() + 1.0)).ravel()  # +1 grey level: flat patches stay finite
    return out


def _regions(images: np.ndarray) -> np.ndarray:
    # 36 x 60 splits exactly into 3 x 5 regions of 12 x 12 pixels.
    sums = images.reshape(len(images), 3, 12, 5, 12).astype(np.float32).sum(axis=(2, 4))
    sums = sums.reshape(len(images), 15)
    return sums / np.maximum(sums.sum(1, keepdims=True), 1.0)


def image_features(
    images: np.ndarray, feature: str = "pixels", pixels_hw: tuple[int, int] = (9, 15)
) -> np.ndarray:
    """(n, 36, 60) uint8 eye patches -> (n, d) float32 features (see the module docstring)."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; choose from {', '.join(FEATURES)}")
    parts = []
    for start in range(0, len(images), _CHUNK):
        chunk = np.asarray(images[start : start + _CHUNK])
        if feature == "pixels":
            parts.append(_pixels(chunk, tuple(pixels_hw)))
        elif feature == "lcn":
            parts.append(_lcn(chunk, tuple(pixels_hw)))
        elif feature == "hog":
            parts.append(_hog(chunk))
        else:
            parts.append(_regions(chunk))
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def eye_features(
    X: EyeData,
    feature: str = "pixels",
    pixels_hw: tuple[int, int] = (9, 15),
    head_weight: float = 1.0,
) -> np.ndarray:
    """Image features of ``X`` with head pose appended: (n, d + 2) float32.

    The last two columns are head pitch/yaw in radians times ``head_weight`` (0 drops head pose's
    influence on distance-based methods without changing the feature's width).
    """
    img = image_features(X.images, feature, pixels_hw)
    head = np.asarray(X.head_pitchyaw_rad, dtype=np.float32) * np.float32(head_weight)
    return np.concatenate([img, head], axis=1)


def subsample_rows(n: int, max_samples: int | None, random_state: int | None) -> np.ndarray:
    """Sorted row indices of a seeded random subsample of at most ``max_samples`` of n rows.

    Sorted so that indexing a memory-mapped array reads it front to back. ``None`` keeps all.
    """
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    if max_samples < 1:
        raise ValueError(f"max_train_samples must be >= 1 or None, got {max_samples}")
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=int(max_samples), replace=False))

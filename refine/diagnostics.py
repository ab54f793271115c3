"""Did refinement work? Realism and label preservation of a refiner, on held-out samples.

Everything is measured at the refiner's resolution (input_hw, 35x55 by default) on ``diag_n``
random synthetic and real images:

- **Realism** (lower is better, 0.5 = indistinguishable): test accuracy of a fresh small
  classifier trained to tell real from refined images, next to the same classifier's accuracy on
  real vs synthetic. Two classifiers: a tiny CNN trained briefly (sees texture: noise, blur,
  JPEG) and logistic regression on 2x-downsampled pixels (sees layout and grey levels). Each is
  trained on one half of the images and scored on the other half.
- **Label preservation:** mean |R(x) - x| in grey levels, and the gaze error (degrees) of a
  ridge regressor on 2x-downsampled pixels + head pose trained on synthetic images: on held-out
  x, on R(x) of the same images (how much the image moved for a synthetic-trained estimator),
  and refit on R(x) (whether the gaze is still in the refined image).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from estimators.geometry import mean_angular_error_deg
from refine.images import to_tensor, to_uint8

CNN_STEPS, CNN_BATCH = 150, 128


@torch.no_grad()
def refine_images(refiner: nn.Module, images: np.ndarray, hw, device: str, batch: int = 256):
    """(k, H, W) uint8 -> (inputs, refined) both (k, *hw) uint8 at the refiner's resolution."""
    from estimators.device import autocast, use_bf16

    bf16 = use_bf16(device)
    xs, ys = [], []
    for s in range(0, len(images), batch):
        x = to_tensor(images[s : s + batch], hw, device)
        with autocast(device, bf16):
            ys.append(to_uint8(refiner(x)))
        xs.append(to_uint8(x))
    return np.concatenate(xs), np.concatenate(ys)


def _pooled(images: np.ndarray) -> np.ndarray:
    """(k, H, W) uint8 -> (k, H//2 * W//2) float32 features in [0, 1] (2x2 average pooling)."""
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
    return F.avg_pool2d(x, 2).flatten(1).numpy()


def _tiny_cnn_accuracy(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    """Held-out accuracy of a small CNN trained for CNN_STEPS steps to tell a (0) from b (1).

    Runs on one thread: ops this small lose more to thread synchronisation than they gain.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _tiny_cnn_fit(a, b, seed)
    finally:
        torch.set_num_threads(threads)


def _tiny_cnn_fit(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(  # strided from the first layer: cheap, still sees pixel texture
        nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.LazyLinear(2),
    )  # fmt: skip
    x = torch.from_numpy(np.concatenate([a, b])).float().unsqueeze(1) / 127.5 - 1.0
    y = torch.cat([torch.zeros(len(a)), torch.ones(len(b))]).long()
    perm = torch.randperm(len(x), generator=g)
    half = len(x) // 2
    tr, te = perm[:half], perm[half:]
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    # ~10 epochs, between 20 and CNN_STEPS steps: enough to separate the demo domains
    steps = int(np.clip(10 * half // CNN_BATCH, 20, CNN_STEPS))
    for _ in range(steps):
        i = tr[torch.randint(0, len(tr), (CNN_BATCH,), generator=g)]
        loss = F.cross_entropy(net(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((net(x[te]).argmax(1) == y[te]).float().mean())


def _logistic_accuracy(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([_pooled(a), _pooled(b)])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=seed, stratify=y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=300))
    return float(clf.fit(xtr, ytr).score(xte, yte))


def _gaze_errors(x, refined, gaze, head) -> dict[str, float]:
    from sklearn.linear_model import Ridge

    half = len(x) // 2

    def feats(ims):
        return np.hstack([_pooled(ims), head.astype(np.float32)])

    fx, fr = feats(x), feats(refined)
    ridge = Ridge(alpha=1.0).fit(fx[:half], gaze[:half])
    refit = Ridge(alpha=1.0).fit(fr[:half], gaze[:half])
    return {
        "gaze_err_deg_on_x": mean_angular_error_deg(ridge.predict(fx[half:]), gaze[half:]),
        "gaze_err_deg_on_refined": mean_angular_error_deg(ridge.predict(fr[half:]), gaze[half:]),
        "gaze_err_deg_refit_on_refined": mean_angular_error_deg(
            refit.predict(fr[half:]), gaze[half:]
        ),
        "gaze_n_train": int(half),
        "gaze_n_test": int(len(x) - half),
    }


def run_diagnostics(
    refiner: nn.Module,
    synthetic: np.ndarray,
    real: np.ndarray,
    config,
    *,
    device: str = "cpu",
    gaze_pitchyaw_rad: np.ndarray | None = None,
    head_pitchyaw_rad: np.ndarray | None = None,
) -> dict[str, Any]:
    """Realism and label preservation of ``refiner`` (see the module doc); a JSON-able dict."""
    rng = np.random.default_rng([config.seed, 2])
    rows_s = np.sort(rng.choice(len(synthetic), min(config.diag_n, len(synthetic)), replace=False))
    rows_r = np.sort(rng.choice(len(real), min(config.diag_n, len(real)), replace=False))
    hw = tuple(config.input_hw)
    x, refined = refine_images(refiner, np.asarray(synthetic[rows_s]), hw, device)
    real_hw = to_uint8(to_tensor(np.asarray(real[rows_r]), hw))
    seed = config.seed
    out: dict[str, Any] = {
        "n_synthetic": int(len(rows_s)),
        "n_real": int(len(rows_r)),
        "resolution_hw": list(hw),
        "realism_cnn_acc_real_vs_synthetic": _tiny_cnn_accuracy(real_hw, x, seed),
        "realism_cnn_acc_real_vs_refined": _tiny_cnn_accuracy(real_hw, refined, seed),
        "realism_logreg_acc_real_vs_synthetic": _logistic_accuracy(real_hw, x, seed),
        "realism_logreg_acc_real_vs_refined": _logistic_accuracy(real_hw, refined, seed),
        "mean_abs_diff_grey": float(np.abs(refined.astype(np.float32) - x).mean()),
    }
    if gaze_pitchyaw_rad is not None and head_pitchyaw_rad is not None:
        gaze = np.asarray(gaze_pitchyaw_rad[rows_s], np.float64)
        head = np.asarray(head_pitchyaw_rad[rows_s], np.float64)
        out.update(_gaze_errors(x, refined, gaze, head))
    else:
        out["gaze"] = "skipped: no synthetic gaze/head labels given"
    out["note"] = (
        "realism: held-out accuracy of a fresh classifier, real vs X (0.5 = indistinguishable, "
        "lower is better); gaze: ridge on pooled pixels + head pose trained on synthetic x"
    )
    return out

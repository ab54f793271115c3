"""Did refinement work? Realism and label preservation of a refiner, on held-out samples.

Everything is measured at the refiner's resolution (input_hw, 35x55 by default) on ``diag_n``
random synthetic and real images:

- **Realism** (lower is better, 0.5 = indistinguishable): held-out accuracy of fresh small
  classifiers trained to tell real from refined images, next to the same classifiers' accuracy
  on real vs synthetic. A panel, because each sees something else (CLASSIFIERS): a tiny CNN
  trained briefly (texture: noise, blur, JPEG), logistic regression on 2x2- and 8x8-pooled
  pixels (layout; coarse look) and on the grey-level histogram. Each is trained on one half of
  the images and scored on the other. The summary is the panel's mean accuracy, and
  ``realism_gap_closed`` = (acc_synthetic - acc_refined) / (acc_synthetic - 0.5).
- **Label preservation:** mean |R(x) - x| in grey levels; ``label_ratio_no_refit``, the error of
  a *frozen*, tone-invariant gaze probe trained on other synthetic images (refine.labelcheck) on
  R(x) over its error on x, the check that sees a moved or erased iris; and, as before, the gaze
  error (degrees) of a ridge regressor on 2x-downsampled pixels + head pose trained on synthetic
  images: on held-out x, on R(x) of the same images, and refit on R(x) (a refit re-learns any
  smooth remap of the gaze, so it only says whether *some* gaze is left in the image).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from estimators.geometry import mean_angular_error_deg
from refine.images import to_tensor, to_uint8
from refine.networks import relit_input

CNN_STEPS, CNN_BATCH = 150, 128


@torch.no_grad()
def refine_images(
    refiner: nn.Module, images: np.ndarray, hw, device: str, precision: str, batch: int = 256
):
    """(k, H, W) uint8 -> (inputs, relit, refined), each (k, *hw) uint8 at the refiner's
    resolution (relit: None for a refiner without an input light).

    A refiner with an input light refines its images relit with the same per-image draws as a
    refined store; ``relit`` is what R itself started from. What R *itself* changed (its label
    ratio, its grey-level change) is measured against it: the light moves no edge, and a probe
    that reads lit eyes better or worse than unlit ones would otherwise mix that into R's own
    label check. precision: the run's ("auto" | "bf16" | "fp32"), so diagnostics see the
    refiner as trained.
    """
    from refine.apply import light_draws
    from torchkit.device import autocast, use_bf16

    bf16 = use_bf16(device, precision)
    xs, lit, ys = [], [], []
    for s in range(0, len(images), batch):
        chunk = np.asarray(images[s : s + batch])
        x = to_tensor(chunk, hw, device)
        x_in = relit_input(refiner, x, light_draws(refiner, chunk))
        with autocast(device, bf16):
            ys.append(to_uint8(refiner(x_in)))
        xs.append(to_uint8(x))
        lit.append(None if x_in is x else to_uint8(x_in))
    relit = None if lit[0] is None else np.concatenate(lit)
    return np.concatenate(xs), relit, np.concatenate(ys)


def _pooled(images: np.ndarray, k: int = 2) -> np.ndarray:
    """(k, H, W) uint8 -> (k, features) float32 in [0, 1]: k x k average pooling, flattened."""
    x = torch.from_numpy(np.asarray(images)).float().unsqueeze(1) / 255.0
    return F.avg_pool2d(x, k, ceil_mode=True).flatten(1).numpy()


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


def _logistic_accuracy(fa: np.ndarray, fb: np.ndarray, seed: int) -> float:
    """Held-out accuracy of standardised logistic regression on features fa (0) vs fb (1)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([fa, fb])
    y = np.r_[np.zeros(len(fa)), np.ones(len(fb))]
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=seed, stratify=y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    return float(clf.fit(xtr, ytr).score(xte, yte))


def _histogram(images: np.ndarray, bins: int = 16) -> np.ndarray:
    """(k, H, W) uint8 -> (k, bins) grey-level histograms (fractions of pixels)."""
    idx = images.reshape(len(images), -1).astype(np.int64) * bins // 256
    counts = np.stack([np.bincount(row, minlength=bins) for row in idx])
    return counts.astype(np.float32) / idx.shape[1]


# name -> (what it sees, accuracy function of (real, other, seed))
CLASSIFIERS = {
    "cnn": ("texture: noise, blur, edges", _tiny_cnn_accuracy),
    "logreg_2x": ("pixels pooled 2x2: layout", lambda a, b, s: _logistic_accuracy(_pooled(a, 2), _pooled(b, 2), s)),
    "logreg_8x": ("pixels pooled 8x8: coarse look", lambda a, b, s: _logistic_accuracy(_pooled(a, 8), _pooled(b, 8), s)),
    "histogram": ("grey-level histogram", lambda a, b, s: _logistic_accuracy(_histogram(a), _histogram(b), s)),
}  # fmt: skip


def gaze_errors(x, refined, gaze, head) -> dict[str, float]:
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
    x, x_in, refined = refine_images(
        refiner, np.asarray(synthetic[rows_s]), hw, device, config.precision
    )
    real_hw = to_uint8(to_tensor(np.asarray(real[rows_r]), hw))
    gaze = head = probe = None
    if gaze_pitchyaw_rad is not None and head_pitchyaw_rad is not None:
        gaze = np.asarray(gaze_pitchyaw_rad[rows_s], np.float64)
        head = np.asarray(head_pitchyaw_rad[rows_s], np.float64)
        probe = synthetic_probe(
            synthetic, gaze_pitchyaw_rad, head_pitchyaw_rad, rows_s, hw, config.seed,
            config.probe_steps,
        )  # fmt: skip
    return score_refined(x, refined, real_hw, config.seed, gaze, head, probe, x_in=x_in)


def synthetic_probe(
    synthetic, gaze_pitchyaw_rad, head_pitchyaw_rad, scored_rows, hw, seed, steps: int = 600
):
    """(probe, keep): the frozen gaze probe (refine.labelcheck) trained at ``hw`` on its fixed
    synthetic rows with their synthetic labels, and the (k,) bool mask of ``scored_rows`` it may
    be scored on (those it was not trained on)."""
    from refine.labelcheck import fit_gaze_probe, probe_rows
    from refine.probe import ProbeSpec

    rows = probe_rows(len(synthetic), seed)
    images = to_uint8(to_tensor(np.asarray(synthetic[rows]), tuple(hw)))
    gaze = np.asarray(gaze_pitchyaw_rad[rows], np.float64)
    head = np.asarray(head_pitchyaw_rad[rows], np.float64)
    probe = fit_gaze_probe(images, gaze, head, ProbeSpec(steps=int(steps), seed=int(seed)))
    return probe, ~np.isin(scored_rows, rows)


def score_refined(
    x: np.ndarray,
    refined: np.ndarray,
    real: np.ndarray,
    seed: int,
    gaze: np.ndarray | None = None,
    head: np.ndarray | None = None,
    probe=None,
    x_in: np.ndarray | None = None,
) -> dict[str, Any]:
    """Realism and label preservation of any refiner, from its output alone.

    x, refined: (k, H, W) uint8 synthetic images and the refiner's output for them, row for row;
    real: (m, H, W) uint8 real images at the same resolution; gaze, head: (k, 2) radians of x
    (None: the gaze part is skipped); probe: a frozen gaze probe (refine.labelcheck) trained on
    other synthetic images at this resolution (None: no ``label_ratio_no_refit``). x_in: what R
    itself refined when it is not x (x relit by an input light, :func:`refine_images`): the
    grey-level change, the ridge and the label ratio then measure R against x_in, and
    ``label_ratio_no_refit_vs_synthetic`` the whole map against x; realism is always against x.
    Returns the JSON-able dict described in the module doc.
    """
    hw = tuple(x.shape[1:])
    base = x if x_in is None else x_in  # what R's own changes are measured against
    out: dict[str, Any] = {
        "n_synthetic": int(len(x)),
        "n_real": int(len(real)),
        "resolution_hw": list(hw),
        "mean_abs_diff_grey": float(np.abs(refined.astype(np.float32) - base).mean()),
    }
    if x_in is not None:
        out["label_check_against"] = "the relit input (input_light)"
    acc_syn, acc_ref = [], []
    for name, (_, accuracy) in CLASSIFIERS.items():
        a, b = accuracy(real, x, seed), accuracy(real, refined, seed)
        out[f"realism_{name}_acc_real_vs_synthetic"] = a
        out[f"realism_{name}_acc_real_vs_refined"] = b
        acc_syn.append(a)
        acc_ref.append(b)
    # the summary: mean over the panel; gap closed = 1 when refined is as real as real
    out["realism_acc_real_vs_synthetic"] = float(np.mean(acc_syn))
    out["realism_acc_real_vs_refined"] = float(np.mean(acc_ref))
    gap = out["realism_acc_real_vs_synthetic"] - 0.5
    out["realism_gap_closed"] = (
        float((out["realism_acc_real_vs_synthetic"] - out["realism_acc_real_vs_refined"]) / gap)
        if gap > 0
        else None
    )
    if gaze is not None and head is not None:
        out.update(gaze_errors(base, refined, gaze, head))
        if probe is not None:
            from refine.labelcheck import no_refit_errors

            net, keep = probe
            out.update(no_refit_errors(net, base[keep], refined[keep], gaze[keep], head[keep]))
            out["probe_n_scored"] = int(keep.sum())
            if x_in is not None:  # the whole map, light included, against the synthetic x
                whole = no_refit_errors(net, x[keep], refined[keep], gaze[keep], head[keep])
                out["label_ratio_no_refit_vs_synthetic"] = whole["label_ratio_no_refit"]
    else:
        out["gaze"] = "skipped: no synthetic gaze/head labels given"
    out["note"] = (
        "realism: held-out accuracy of fresh classifiers (cnn, logreg_2x, logreg_8x, histogram; "
        "summary = their mean) telling real from X; 0.5 = indistinguishable, lower is better. "
        "gaze: ridge on 2x-pooled pixels + head pose trained on synthetic x; "
        "label_ratio_no_refit: a frozen tone-invariant CNN probe's error on R(x) / on x"
    )
    return out


def diagnose_refined(
    synthetic: np.ndarray,
    refined: np.ndarray,
    real: np.ndarray,
    *,
    seed: int,
    diag_n: int,
    hw: tuple[int, int] = (35, 55),
    gaze_pitchyaw_rad: np.ndarray | None = None,
    head_pitchyaw_rad: np.ndarray | None = None,
    probe_steps: int = 600,
) -> dict[str, Any]:
    """The diagnostics of any refiner from its stored output: (N, 36, 60) uint8 ``synthetic`` and
    ``refined`` (row-aligned), (M, 36, 60) uint8 ``real``. Samples and resolution as
    run_diagnostics (``diag_n`` rows of each, drawn with the same seed rule, resized to ``hw``),
    so every refiner on a leaderboard is scored alike."""
    rng = np.random.default_rng([seed, 2])
    rows_s = np.sort(rng.choice(len(synthetic), min(diag_n, len(synthetic)), replace=False))
    rows_r = np.sort(rng.choice(len(real), min(diag_n, len(real)), replace=False))

    def at_hw(images: np.ndarray) -> np.ndarray:
        return to_uint8(to_tensor(np.asarray(images), tuple(hw)))

    gaze = head = probe = None
    if gaze_pitchyaw_rad is not None and head_pitchyaw_rad is not None:
        gaze = np.asarray(gaze_pitchyaw_rad[rows_s], np.float64)
        head = np.asarray(head_pitchyaw_rad[rows_s], np.float64)
        probe = synthetic_probe(
            synthetic, gaze_pitchyaw_rad, head_pitchyaw_rad, rows_s, hw, seed, probe_steps
        )
    x, out = at_hw(synthetic[rows_s]), at_hw(refined[rows_s])
    return score_refined(x, out, at_hw(real[rows_r]), seed, gaze, head, probe)

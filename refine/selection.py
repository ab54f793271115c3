"""Label-free choice of a refiner's weights among snapshots taken during training.

GAN training does not converge to a point: the refiner keeps moving, and where it stands at the
last step depends on last-bit float differences (thread count, CPU kernels). Instead of trusting
the last step, the trainer scores snapshots every ``select_every`` adversarial steps and keeps
the best. The score uses no target labels at all:

- **realism**: held-out accuracy of quick classifiers (logistic regression on 2x2- and 8x8-pooled
  pixels and on the grey-level histogram) telling *held-out* real training images (a share of
  the unlabeled real pool that R and D never see) from R(x); lower is better, 0.5 is ideal.
  Logged beside it: the share of the gap closed, (acc on x - acc on R(x)) / (acc on x - 0.5),
  with the same classifiers' accuracy on the unrefined x of the set (measured once);
- **label preservation**, with synthetic labels only: a frozen, tone-invariant gaze probe
  (refine.labelcheck), trained on other synthetic images, must read the synthetic gaze from R(x)
  within ``select_max_label_ratio`` of its error on x (no refit: a regressor refit on R(x)
  re-learns any smooth remap of the gaze and passes a refiner that moved every iris).

The chosen snapshot is the most realistic one that keeps labels; when none keeps them, the one
that keeps them best. Each score is deterministic given the images (fixed classifier seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from refine.images import to_tensor, to_uint8

# the quick ones of the diagnostics' panel (its tiny CNN would cost more than the snapshot's steps)
SCORE_CLASSIFIERS = ("logreg_2x", "logreg_8x", "histogram")


@dataclass
class SelectionSet:
    """The fixed images a snapshot is scored on: synthetic (k, H, W) uint8 with their labels
    (k, 2) float64 radians, and held-out real (m, H, W) uint8, all at the refiner's input size."""

    synthetic: np.ndarray
    gaze_pitchyaw_rad: np.ndarray | None
    head_pitchyaw_rad: np.ndarray | None
    real: np.ndarray
    probe: Any = None  # refine.probe.FrozenProbe of gaze, trained on other synthetic rows
    # the classifiers' realism accuracy on the unrefined synthetic images (the gap to close)
    realism_acc_synthetic: float = float("nan")


def make_selection_set(
    synthetic: np.ndarray,
    real_holdout: np.ndarray,
    hw: tuple[int, int],
    n: int,
    seed: int,
    gaze_pitchyaw_rad: np.ndarray | None = None,
    head_pitchyaw_rad: np.ndarray | None = None,
    probe_steps: int = 600,
) -> SelectionSet:
    """Draw ``n`` synthetic rows (fixed by ``seed``) and resize them and the held-out real images
    (indexable arrays; real_holdout may be a memory map) to ``hw``."""
    rng = np.random.default_rng([seed, 3])
    rows = np.sort(rng.choice(len(synthetic), min(n, len(synthetic)), replace=False))
    real_rows = np.sort(rng.choice(len(real_holdout), min(n, len(real_holdout)), replace=False))
    gaze = None if gaze_pitchyaw_rad is None else np.asarray(gaze_pitchyaw_rad[rows], np.float64)
    head = None if head_pitchyaw_rad is None else np.asarray(head_pitchyaw_rad[rows], np.float64)
    probe = None
    if gaze is not None and head is not None:
        from refine.diagnostics import synthetic_probe

        probe, keep = synthetic_probe(
            synthetic, gaze_pitchyaw_rad, head_pitchyaw_rad, rows, hw, seed, probe_steps
        )
        rows, gaze, head = rows[keep], gaze[keep], head[keep]  # rows the probe never saw
    x = to_uint8(to_tensor(np.asarray(synthetic[rows]), hw))
    real = to_uint8(to_tensor(np.asarray(real_holdout[real_rows]), hw))
    return SelectionSet(
        probe=probe,
        synthetic=x,
        gaze_pitchyaw_rad=gaze,
        head_pitchyaw_rad=head,
        real=real,
        realism_acc_synthetic=_realism_acc(real, x, seed),
    )


def _realism_acc(real: np.ndarray, other: np.ndarray, seed: int) -> float:
    """The SCORE_CLASSIFIERS' mean held-out accuracy telling ``real`` from ``other``."""
    from refine.diagnostics import CLASSIFIERS

    return float(np.mean([CLASSIFIERS[name][1](real, other, seed) for name in SCORE_CLASSIFIERS]))


@torch.no_grad()
def score_snapshot(
    refiner: nn.Module, sel: SelectionSet, device: str, bf16: bool, seed: int
) -> dict[str, float]:
    """{'realism_acc', 'realism_gap_closed', 'label_ratio', 'abs_diff_grey'} of ``refiner`` on
    ``sel`` (see module); label_ratio is the frozen probe's no-refit ratio."""
    from refine.diagnostics import refine_images
    from refine.labelcheck import no_refit_errors

    was_training = refiner.training
    refiner.eval()
    hw = sel.synthetic.shape[1:]
    _, x_in, y = refine_images(refiner, sel.synthetic, hw, device, "bf16" if bf16 else "fp32")
    refiner.train(was_training)
    base = sel.synthetic if x_in is None else x_in  # R's own change: against what it refined
    acc, acc_x = _realism_acc(sel.real, y, seed), sel.realism_acc_synthetic
    out = {
        "realism_acc": acc,
        # nan when x was already indistinguishable (no gap) or the set predates the baseline
        "realism_gap_closed": float((acc_x - acc) / (acc_x - 0.5)) if acc_x > 0.5 else math.nan,
        "abs_diff_grey": float(np.abs(y.astype(np.float32) - base).mean()),
        "label_ratio": float("nan"),
    }
    if sel.probe is not None:
        g = no_refit_errors(sel.probe, base, y, sel.gaze_pitchyaw_rad, sel.head_pitchyaw_rad)
        out["label_ratio"] = g["label_ratio_no_refit"]
    return out


def better(candidate: dict[str, float], best: dict[str, float] | None, max_ratio: float) -> bool:
    """True when ``candidate`` beats ``best``: label-keeping beats label-losing; among the
    label-keeping, lower realism accuracy wins; among the others, the better label ratio."""
    if best is None:
        return True

    def keeps(s: dict[str, Any]) -> bool:
        r = s["label_ratio"]
        return bool(np.isnan(r) or r <= max_ratio)

    if keeps(candidate) != keeps(best):
        return keeps(candidate)
    if keeps(candidate):
        return candidate["realism_acc"] < best["realism_acc"]
    return candidate["label_ratio"] < best["label_ratio"]

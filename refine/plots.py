"""PNG pictures of a run: the sample grid (synthetic | refined | |refined - synthetic| | real)
and the loss curves. Written atomically (temp file, rename) like every other run file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DIFF_GAIN = 2  # |refined - synthetic| is shown x2: small changes visible, large ones not all white


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)


def _column(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """(k, H, W) -> one (k*(H+gap)-gap, W) strip with white separators."""
    k, h, w = images.shape
    out = np.full((k * (h + gap) - gap, w), 255, np.uint8)
    for i, im in enumerate(images):
        out[i * (h + gap) : i * (h + gap) + h] = im
    return out


def sample_grid(
    synthetic: np.ndarray, refined: np.ndarray, real: np.ndarray, path: Path, title: str = ""
) -> Path:
    """Write the four-column grid; all inputs (k, H, W) uint8 at the same H x W."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    diff = np.abs(refined.astype(np.int16) - synthetic.astype(np.int16)) * DIFF_GAIN
    cols = {
        "synthetic": synthetic,
        "refined": refined,
        f"|refined − synthetic| ×{DIFF_GAIN}": np.clip(diff, 0, 255).astype(np.uint8),
        "real": real,
    }
    fig, axes = plt.subplots(1, 4, figsize=(9, 1.2 + 0.62 * len(synthetic)))
    for ax, (name, ims) in zip(axes, cols.items(), strict=True):
        ax.imshow(_column(ims), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)


def loss_curves(rows: list[dict], path: Path) -> Path:
    """Plot losses.csv rows (dicts of floats keyed by column) against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = np.array([r["step"] for r in rows], float)
    for key, ax in (
        ("loss_r_adv", a1),
        ("loss_r_reg", a1),
        ("loss_d", a1),
        ("d_acc_real", a2),
        ("d_acc_refined", a2),
    ):
        v = np.array([r[key] for r in rows], float)
        if np.isfinite(v).any():
            ax.plot(steps, v, label=key, lw=1)
    a1.set_yscale("symlog", linthresh=1e-3)
    a1.set_title("losses (means)")
    a2.set_title("D patch accuracy")
    a2.set_ylim(-0.02, 1.02)
    for ax in (a1, a2):
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
    return Path(path)

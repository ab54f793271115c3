"""A picture of a store: a grid of samples with their gaze drawn on, plus label histograms.

The arrow on each sample is the stored gaze label projected into the image (x right, y down), so
a person can check at a glance that converted labels point where the pupil looks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.datasets.store import Store


def show_store(
    store: Store, out: str | Path, n_samples: int = 48, seed: int = 0, title: str | None = None
) -> Path:
    """Write a PNG with ``n_samples`` random samples (gaze arrows) and pitch/yaw histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(store)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=min(n_samples, n), replace=False)) if n else np.array([], int)
    cols = 8
    rows = max(1, (len(idx) + cols - 1) // cols)
    fig = plt.figure(figsize=(cols * 1.6, rows * 1.0 + 2.6))
    grid = fig.add_gridspec(rows + 2, cols, height_ratios=[1] * rows + [0.25, 2.2])
    gaze = np.asarray(store.gaze_pitchyaw_rad[idx], dtype=np.float64)
    for k, i in enumerate(idx):
        ax = fig.add_subplot(grid[k // cols, k % cols])
        ax.imshow(store.images[i], cmap="gray", vmin=0, vmax=255)
        pitch, yaw = gaze[k]
        dx, dy = -np.cos(pitch) * np.sin(yaw), -np.sin(pitch)  # image x right, y down
        ax.arrow(30, 18, 40 * dx, 40 * dy, color="lime", width=0.6, head_width=2.5)
        ax.set_title(f"{np.degrees(pitch):+.0f}/{np.degrees(yaw):+.0f}°", fontsize=6, pad=1)
        ax.axis("off")
    labels = [
        ("gaze pitch", store.gaze_pitchyaw_rad[:, 0]),
        ("gaze yaw", store.gaze_pitchyaw_rad[:, 1]),
        ("head pitch", store.head_pitchyaw_rad[:, 0]),
        ("head yaw", store.head_pitchyaw_rad[:, 1]),
    ]
    span = cols // 4
    for j, (name, values) in enumerate(labels):
        ax = fig.add_subplot(grid[rows + 1, j * span : (j + 1) * span])
        deg = np.degrees(np.asarray(values, dtype=np.float64))
        ax.hist(deg, bins=40, color="tab:blue")
        ax.set_title(
            f"{name} (deg)  mean {deg.mean():+.1f} sd {deg.std():.1f}" if n else name, fontsize=7
        )
        ax.tick_params(labelsize=6)
    fig.suptitle(title or f"{store.path.name}: {store.source}, {n:,} images", fontsize=9)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out)
    return out

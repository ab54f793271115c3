"""The cumulative error curves of a report: fraction of test images within d degrees, per row."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.records.rows import latest_rows, load_errors, read_rows


def plot_curves(results_dir: Path, df: pd.DataFrame, out: Path, demo: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = latest_rows(read_rows(results_dir))
    d = np.linspace(0, 40, 161)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.get_cmap("tab20").colors  # 20 distinct colours: Table 1 plus extras
    for i, rec in enumerate(df.itertuples()):
        errs = [load_errors(results_dir, r) for r in rows if r["row_id"] == rec.row_id]
        errs = [e for e in errs if e is not None]
        if not errs:
            continue
        frac = np.mean([(e[None, :] <= d[:, None]).mean(1) for e in errs], axis=0)
        ax.plot(
            d,
            100 * frac,
            label=f"{rec.label} ({rec.err_mean_deg:.1f}°)",
            linestyle="--" if rec.extra else "-",
            color=colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20],
        )
    ax.axvline(7, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("angular error d (degrees)")
    ax.set_ylabel("test images with error ≤ d (%)")
    ax.set_title("Cumulative error curves" + (" — DEMO domain, not MPIIGaze" if demo else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    tmp.replace(out)

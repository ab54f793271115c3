"""What `bench perf --scale` measures and writes: a point's columns, the paper sizes, the power-law
fit, and the outputs (the CSV, the log-log plot, the fit table in Markdown)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

Row = dict[str, Any]
COLUMNS = (
    "stage",
    "n",
    "wall_s",
    "peak_rss_mb",
    "peak_anon_mb",
    "us_per_item",
)
# The paper-scale sizes: MPIIGaze 15 people x both eyes, 1.2 M UnityEyes renders, refining them.
PAPER_N = {"mpiigaze": 427_318, "unityeyes": 1_200_000, "refine": 1_200_000}
UNIT = {"mpiigaze": "patches", "unityeyes": "renders", "refine": "images"}


def fit_power(n: list[float], y: list[float]) -> tuple[float, float]:
    """Least-squares fit of ``y = c * n**a`` on log-log axes; returns (a, c)."""
    a, log_c = np.polyfit(np.log(np.asarray(n, float)), np.log(np.asarray(y, float)), 1)
    return float(a), float(np.exp(log_c))


def fit_stage(rows: list[Row], stage: str) -> dict[str, float]:
    """Time exponent, memory slope (MB per million items) and paper-size extrapolations."""
    pts = [r for r in rows if r["stage"] == stage]
    n = [r["n"] for r in pts]
    out: dict[str, float] = {"paper_n": PAPER_N[stage]}
    if len(pts) >= 2:
        a, c = fit_power(n, [r["wall_s"] for r in pts])
        slope, icpt = np.polyfit(n, [r["peak_rss_mb"] for r in pts], 1)
        anon_slope = np.polyfit(n, [r["peak_anon_mb"] for r in pts], 1)[0]
        # Time at paper size: the largest point's per-item cost scaled by N^(a-1), i.e. the
        # fitted law anchored where it was measured best.
        big = max(pts, key=lambda r: r["n"])
        paper_s = big["wall_s"] * (PAPER_N[stage] / big["n"]) ** a
        # The exponent between the two largest points: fixed start-up costs flatten the fit
        # over all points, so this is the better guide to how time grows near paper size.
        top = sorted(pts, key=lambda r: r["n"])[-2:]
        a_top, _ = fit_power([r["n"] for r in top], [r["wall_s"] for r in top])
        out.update(
            time_exponent=a,
            time_exponent_top=a_top,
            rss_mb_per_million=float(slope) * 1e6,
            anon_mb_per_million=float(anon_slope) * 1e6,
            paper_s_fit=paper_s,
            paper_s_linear=big["wall_s"] * PAPER_N[stage] / big["n"],
            paper_rss_mb_linear=float(icpt + slope * PAPER_N[stage]),
        )
    return out


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per (stage, N) point with the columns of ``COLUMNS``."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in COLUMNS})


def read_csv(path: Path) -> list[Row]:
    with open(path, newline="") as f:
        return [
            {k: (v if k == "stage" else int(v) if k == "n" else float(v)) for k, v in r.items()}
            for r in csv.DictReader(f)
        ]


def write_plot(rows: list[Row], path: Path) -> None:
    """Two log-log panels against N: wall seconds (with a slope-1 guide) and peak RSS (MB)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for stage in dict.fromkeys(r["stage"] for r in rows):
        pts = sorted((r for r in rows if r["stage"] == stage), key=lambda r: r["n"])
        n = [r["n"] for r in pts]
        ax_t.loglog(n, [r["wall_s"] for r in pts], "o-", label=f"{stage} ({UNIT[stage]})")
        line = ax_m.loglog(n, [r["peak_rss_mb"] for r in pts], "o-", label=f"{stage} RSS")[0]
        anon = [r["peak_anon_mb"] for r in pts]
        ax_m.loglog(n, anon, "x--", color=line.get_color(), label=f"{stage} anon")
        ax_t.axvline(PAPER_N[stage], ls=":", lw=0.8, color=ax_t.lines[-1].get_color())
    ax_t.set(xlabel="N items", ylabel="wall s (one core)", title="time (dotted: paper N)")
    ax_m.set(
        xlabel="N items", ylabel="peak MB (main process)", title="memory: RSS and anonymous RSS"
    )
    ax_m.axhline(2048, ls="--", color="grey", lw=0.8)
    ax_m.text(ax_m.get_xlim()[0], 2048, " 2 GB goal", va="bottom", fontsize=8, color="grey")
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fit_table(rows: list[Row]) -> str:
    """Markdown: per stage the time exponent a (time ∝ N^a), memory slope, paper-size figures."""
    lines = [
        "| stage | paper N | time ∝ N^a: a (all points) | a (two largest) | RSS slope (MB per 1 M) | anon slope (MB per 1 M) | paper time, fit (min) "
        "| paper time, linear (min) | paper RSS, linear (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in dict.fromkeys(r["stage"] for r in rows):
        f = fit_stage(rows, stage)
        if "time_exponent" not in f:
            continue
        lines.append(
            f"| {stage} | {f['paper_n']:,.0f} | {f['time_exponent']:.2f} | {f['time_exponent_top']:.2f} "
            f"| {f['rss_mb_per_million']:,.0f} | {f['anon_mb_per_million']:,.0f} | {f['paper_s_fit'] / 60:,.1f} "
            f"| {f['paper_s_linear'] / 60:,.1f} | {f['paper_rss_mb_linear']:,.0f} |"
        )
    return "\n".join(lines)

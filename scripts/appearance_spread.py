"""Does a refiner give its images the real pool's spread of light, or one look for all?

Per-image statistics, over the first n images of the synthetic store, their refined versions by
each run, and the unlabelled real pool (no label is read):

- brightness: the mean grey level, and its spread (sd) over images;
- contrast: the per-image grey-level sd, and its spread;
- light gradient: |mean of the left 20 columns - mean of the right 20| in grey levels, the
  demo's illumination gradient across the patch (real eyes have it, sim renders do not).

The oracle experiment (scripts/oracle_gap.py) finds the light gradient is the appearance change
that matters most to the CNN; this says whether a refiner produces it.

Usage: python scripts/appearance_spread.py --work WORK RUN_DIR ... [--n 1000] [--out OUT.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.datasets.store import open_store
from refine.apply import iter_refined, load_refiner

EDGE_COLS = 20


def spread(images: np.ndarray) -> dict[str, float]:
    """(n, H, W) uint8 -> the statistics above, in grey levels."""
    x = images.astype(np.float32)
    mean, sd = x.mean((1, 2)), x.std((1, 2))
    lr = x[:, :, :EDGE_COLS].mean((1, 2)) - x[:, :, -EDGE_COLS:].mean((1, 2))
    return {
        "brightness_mean_grey": float(mean.mean()),
        "brightness_sd_grey": float(mean.std()),
        "contrast_mean_grey": float(sd.mean()),
        "contrast_sd_grey": float(sd.std()),
        "light_gradient_lr_grey": float(np.abs(lr).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("runs", nargs="*", type=Path)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    stores = args.work / "stores" / "demo"
    x = np.asarray(open_store(stores / "synthetic-sim-n16000-s0").images[: args.n])
    real = np.asarray(open_store(stores / "real-unlabeled-wild-n8000-s0").images[: args.n])
    rows = [("synthetic", spread(x)), ("real", spread(real))]
    for run in args.runs:
        refiner = load_refiner(run, "cpu")
        y = np.concatenate([b for _, b in iter_refined(refiner, x, device="cpu")])
        rows.append((run.name, spread(y)))
    for name, s in rows:
        print(f"{name:16s} " + "  ".join(f"{k} {v:6.1f}" for k, v in s.items()))
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps({"images": name, "n": args.n, **s}) + "\n")


if __name__ == "__main__":
    main()

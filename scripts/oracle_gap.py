"""How much of the refined-vs-synthetic CNN gain can a label-keeping refiner reach on the demo?

The demo renderer can do what no refiner can: draw the very same synthetic eye (same person
geometry, same gaze, same head pose, so the same label) with the ``wild`` camera and scene. A CNN
trained on those "oracle-refined" images is the ceiling of any refiner that changes appearance
only. A second factor separates the label prior: the same renders with gaze and head pose drawn
from the wild distribution instead of sim's broad uniform one (what a refiner that pulls irises
toward the centre gives the CNN for free).

Four training sets, n images each, scored on the development people (never the test people):

    look \\ labels       sim distribution      wild distribution
    sim (clean)         synthetic             prior only
    wild appearance     oracle refiner        oracle + prior

Usage (a heavy job: four CNN fits, ~3 min each on 2 cores; --panel: the realism panel instead):
    python scripts/oracle_gap.py --work WORK --out OUT.jsonl [--cnn-seed 0] [--n-train 4000] \
        [--cells LOOK/LABELS,...] [--panel]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from cause_experiments import _knn, _store, cnn_error

from benchmarks.datasets.demo import BLOCK, render, sample_params
from benchmarks.datasets.demo_looks import LOOKS
from estimators.base import EyeData

REAL_STORE = "real-unlabeled-wild-n8000-s0"  # the refiner's unlabelled real pool (quick profile)
# Per-image appearance the renderer samples from a Look (everything that is not geometry or label).
APPEARANCE = ("skin", "iris", "sclera", "brightness", "blur", "noise", "contrast", "gamma", "jpeg")
LABELS = ("gaze_pitch", "gaze_yaw", "head_pitch", "head_yaw")
# The wild look split in two: what the camera adds, and what the scene (face, light) adds.
CAMERA = ("edge_px", "brightness", "blur_sigma_px", "noise_sigma", "contrast", "gamma",
          "jpeg_quality")  # fmt: skip
SCENE = ("skin_level", "iris_level", "sclera_level", "shading", "eyelashes", "skin_texture",
         "light_gradient")  # fmt: skip
PARAM_OF = {"skin_level": "skin", "iris_level": "iris", "sclera_level": "sclera",
            "brightness": "brightness", "blur_sigma_px": "blur", "noise_sigma": "noise",
            "contrast": "contrast", "gamma": "gamma", "jpeg_quality": "jpeg"}  # fmt: skip


def look_named(name: str):
    """'sim', 'wild', a half of wild's look on sim: 'camera' (sim + wild camera) or 'scene'
    (sim + wild face and light), or 'wild:FIELD+FIELD' (sim + those Look fields of wild). Returns (Look, per-image param keys it takes from wild)."""
    if name in ("sim", "wild"):
        return LOOKS[name], (APPEARANCE if name == "wild" else ())
    # 'wild:f1+f2': sim with only those Look fields (and their per-image draws) from wild
    fields = (
        tuple(name[5:].split("+"))
        if name.startswith("wild:")
        else {"camera": CAMERA, "scene": SCENE}[name]
    )
    wild = LOOKS["wild"]
    look = dataclasses.replace(LOOKS["sim"], **{f: getattr(wild, f) for f in fields})
    return look, tuple(PARAM_OF[f] for f in fields if f in PARAM_OF)


def render_set(n: int, seed: int, look: str, labels: str) -> dict[str, np.ndarray]:
    """n sim eyes (sim person geometry) drawn with ``look``'s appearance (look_named) and
    gaze/head pose from ``labels``' distribution. Images (n, 36, 60) uint8; gaze, head (n, 2) float32 radians."""
    sim = LOOKS["sim"]
    # The wild look with a new random person per image, as sim has: a camera, not 15 people.
    other = dataclasses.replace(LOOKS["wild"], n_subjects=0)
    draw, keys = look_named(look)
    images, gaze, head = [], [], []
    for b in range(0, n, BLOCK):
        k = min(BLOCK, n - b)
        rng = np.random.default_rng([seed, b, 1])
        p = sample_params(sim, rng, k)
        q = sample_params(other, np.random.default_rng([seed, b, 2]), k)
        p.update({key: q[key] for key in keys if key in q})
        if labels != "sim":
            p.update({key: q[key] for key in LABELS})
        images.append(render(draw, p, np.random.default_rng([seed, b, 3])))
        gaze.append(np.stack([p["gaze_pitch"], p["gaze_yaw"]], 1))
        head.append(np.stack([p["head_pitch"], p["head_yaw"]], 1))
    return {
        "images": np.concatenate(images),
        "gaze": np.concatenate(gaze).astype(np.float32),
        "head": np.concatenate(head).astype(np.float32),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cnn-seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--cnn-samples", type=int, default=28800)
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--cells", default="sim/sim,wild/sim,sim/wild,wild/wild")
    ap.add_argument(
        "--panel", action="store_true", help="the realism panel of each cell instead (no CNN)"
    )
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.panel:
        return panel_rows(args)
    dev = _store(args.work / "stores" / "demo", "test", "wild", 3000, 2000)
    for cell in args.cells.split(","):
        look, labels = cell.split("/")
        t0 = time.perf_counter()
        d = render_set(args.n_train, args.data_seed, look, labels)
        cnn = cnn_error(
            EyeData(d["images"], d["head"]), d["gaze"], dev, args.cnn_seed, args.cnn_samples, {}
        )
        row = {
            "look": look, "labels": labels, "cnn_seed": args.cnn_seed,
            "data_seed": args.data_seed, "n_train": args.n_train,
            "cnn_samples": args.cnn_samples, "cnn_dev_deg": cnn,
            "knn_dev_deg": _knn(d["images"], d["head"], d["gaze"], dev),
            "fit_s": round(time.perf_counter() - t0, 1),
        }  # fmt: skip
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def panel_rows(args) -> None:
    """The diagnostics' realism panel (real vs each cell, against real vs sim/sim): how much of
    the realism gap an oracle closes, and whether the panel tracks what the CNN needs."""
    from benchmarks.datasets.store import open_store
    from refine.diagnostics import diagnose_refined

    real = np.asarray(open_store(args.work / "stores" / "demo" / REAL_STORE).images)
    syn = render_set(args.n_train, args.data_seed, "sim", "sim")["images"]
    for cell in args.cells.split(","):
        look, labels = cell.split("/")
        d = render_set(args.n_train, args.data_seed, look, labels)
        out = diagnose_refined(syn, d["images"], real, seed=0, diag_n=min(2000, args.n_train))
        row = {"look": look, "labels": labels, "data_seed": args.data_seed, "panel": True}
        row.update({k: v for k, v in out.items() if k.startswith("realism_")})
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

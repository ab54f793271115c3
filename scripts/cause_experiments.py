"""Cause experiments for the refined-vs-synthetic headline on the demo's development people.

One experiment = one SimGAN refiner config (a preset plus overrides) trained on the demo stores
of a `bench run table1 --eval dev` work dir, then measured:

- label preservation: ``label_ratio_no_refit`` (frozen tone-invariant gaze probe), the ridge
  refit ratio, and the renderer-measured iris shift (benchmarks.datasets.demo_iris);
- realism: the diagnostics' panel (gap closed);
- usefulness: the paper CNN trained on the refined 1x training set vs on the synthetic one, and
  kNN likewise, scored on the development people (never the test people).

Usage (one heavy job at a time; results append to OUT as JSON lines):
    python scripts/cause_experiments.py --work WORK --out OUT.jsonl --name NAME \
        --set key=value ... [--refine-at native|residual] [--cnn-seed 0] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.datasets.demo_iris import iris_shift
from estimators.base import EyeData
from estimators.geometry import mean_angular_error_deg
from estimators.registry import create_estimator
from refine.apply import iter_refined, load_refiner
from refine.config import RefinerConfig, parse_override
from refine.images import to_tensor, to_uint8
from refine.train import train_refiner

DEVICE = "cpu"
CNN_FIT_S: list[float] = []  # wall seconds of each CNN fit in this process, in order


def refine_all(refiner, images: np.ndarray, mode: str) -> np.ndarray:
    """(n, 36, 60) uint8 -> refined (n, 36, 60) uint8: 'residual' (refine.apply: at input_hw,
    residual resized to 36x60) or 'native' (R applied at 36x60 directly, fully convolutional)."""
    if mode == "residual":
        return np.concatenate([r for _, r in iter_refined(refiner, images, device=DEVICE)])
    out = []
    with torch.no_grad():
        for s in range(0, len(images), 256):
            out.append(to_uint8(refiner(to_tensor(images[s : s + 256], (36, 60), DEVICE))))
    return np.concatenate(out)


def cnn_error(train: EyeData, gaze, test, seed: int, samples: int, extra: dict) -> float:
    # --cnn-set overrides any of these (e.g. batch_size=32: more optimiser steps, same images)
    kw = dict(train_samples=samples, batch_size=128, random_state=seed, progress=False,
              device=DEVICE, precision="fp32")  # fmt: skip
    est = create_estimator("cnn", **{**kw, **extra})
    t0 = time.perf_counter()
    est.fit(train, gaze)
    CNN_FIT_S.append(round(time.perf_counter() - t0, 1))
    return mean_angular_error_deg(est.predict(EyeData(test.images, test.head_pitchyaw_rad)),
                                  test.gaze_pitchyaw_rad)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--refine-at", default="residual", help="residual, native or both (comma)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cnn-seed", type=int, default=0)
    ap.add_argument("--cnn-samples", type=int, default=14400)
    ap.add_argument("--cnn-set", dest="cnn_sets", action="append", default=[])
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--refiner-run", type=Path, default=None,
                    help="score this finished refiner run instead of training one (--set, --seed "
                    "then only label the row)")  # fmt: skip
    ap.add_argument("--no-cnn", action="store_true", help="label and realism only (minutes)")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(args.threads)
    stores = args.work / "stores" / "demo"
    syn = _store(stores, "synthetic", "sim", 16000, 0)
    real = _store(stores, "real-unlabeled", "wild", 8000, 0)
    dev = _store(stores, "test", "wild", 3000, 2000)
    over = dict(parse_override(s) for s in args.sets)
    cfg = RefinerConfig.preset(args.preset, **over, seed=args.seed, device=DEVICE, precision="fp32")
    run = args.refiner_run or args.work / "exp-runs" / f"{args.name}-s{args.seed}"
    t0 = time.perf_counter()
    if args.refiner_run:  # a finished run (e.g. a bench run's WORK/refiner/KEY-seedS): reuse it
        done = json.loads((run / "complete.json").read_text())
    else:
        done = train_refiner(syn.images, real.images, cfg, run, resume=run.exists(),
                             progress=False, synthetic_gaze_pitchyaw_rad=syn.gaze_pitchyaw_rad,
                             synthetic_head_pitchyaw_rad=syn.head_pitchyaw_rad)  # fmt: skip
    fit_s = time.perf_counter() - t0
    diag = json.loads((run / "diagnostics.json").read_text())
    refiner = load_refiner(run, DEVICE)
    rows = np.sort(np.random.default_rng([0, 99]).choice(len(syn), args.n_train, replace=False))
    x = np.asarray(syn.images[rows])
    gaze, head = np.asarray(syn.gaze_pitchyaw_rad[rows]), np.asarray(syn.head_pitchyaw_rad[rows])
    cnn_extra = dict(parse_override(s) for s in args.cnn_sets)
    cache = args.out.with_suffix(".syn.json")
    syn_key = f"{args.cnn_seed}-{args.cnn_samples}-{args.n_train}-{sorted(cnn_extra.items())}"
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    if args.no_cnn:
        s = {"cnn": None, "knn": _knn(x, head, gaze, dev)}
    elif syn_key not in known:
        known[syn_key] = {
            "cnn": cnn_error(
                EyeData(x, head), gaze, dev, args.cnn_seed, args.cnn_samples, cnn_extra
            ),  # fmt: skip
            "knn": _knn(x, head, gaze, dev),
        }
        cache.write_text(json.dumps(known))
    if not args.no_cnn:
        s = known[syn_key]
    for mode in args.refine_at.split(","):
        iris = iris_shift(lambda im, m=mode: refine_all(refiner, im, m), seed=args.seed)
        refined = refine_all(refiner, x, mode)
        ref_cnn = (
            None
            if args.no_cnn
            else cnn_error(
                EyeData(refined, head), gaze, dev, args.cnn_seed, args.cnn_samples, cnn_extra
            )
        )
        ref_knn = _knn(refined, head, gaze, dev)
        row = {
            "name": args.name, "seed": args.seed, "cnn_seed": args.cnn_seed, "sets": args.sets,
            "cnn_sets": args.cnn_sets, "cnn_samples": args.cnn_samples, "n_train": args.n_train,
            "refine_at": mode, "fit_s": round(fit_s, 1),
            "refiner_run": None if args.refiner_run is None else args.refiner_run.name,
            "weights": done.get("weights"), "selected_step": done.get("selected_step"),
            "cnn_syn": s["cnn"], "cnn_ref": ref_cnn,
            "gain_pct": None if ref_cnn is None else 100 * (1 - ref_cnn / s["cnn"]),
            "knn_syn": s["knn"], "knn_ref": ref_knn, "knn_delta": ref_knn - s["knn"],
            **{k: diag.get(k) for k in ("label_ratio_no_refit", "probe_err_deg_on_x",
                                         "gaze_err_deg_on_x", "gaze_err_deg_on_refined",
                                         "gaze_err_deg_refit_on_refined", "realism_gap_closed",
                                         "mean_abs_diff_grey")},
            "iris": {k: v for k, v in iris.items() if k != "note"},
            "cnn_fit_s": list(CNN_FIT_S),
        }  # fmt: skip
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row))


def _store(stores: Path, role: str, domain: str, n: int, seed: int):
    """The pipeline's demo store for this role (rendered if missing, as `bench run` would)."""
    from benchmarks.datasets.prepare_demo import prepare_demo_domain

    path = stores / f"{role}-{domain}-n{n}-s{seed}"
    return prepare_demo_domain(path, domain, n, seed, progress=False)


def _knn(images, head, gaze, dev) -> float:
    est = create_estimator("knn", n_neighbors=10).fit(EyeData(images, head), gaze)
    pred = est.predict(EyeData(dev.images, dev.head_pitchyaw_rad))
    return mean_angular_error_deg(pred, dev.gaze_pitchyaw_rad)


if __name__ == "__main__":
    main()

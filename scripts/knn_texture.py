"""Why does kNN lose on refined images: a moved gaze, or texture on the gallery side?

On a lit SimGAN refiner run (issue #22), kNN (the knn-synthetic row's estimator: the default
local-contrast 9 x 15 feature with head pose, k = 10) is trained on variants of the same 1x
synthetic training set and scored on the demo's development people (never the test people):

- ``light_only``: the synthetic eyes relit by R's input light (moves no edge);
- ``R_on_light``: R's output (the refined store);
- ``light+own_hp``: the light plus R's own high-pass change (R(x) - x less its Gaussian blur,
  sigma 3 px): what R draws at the feature's scale and finer, on the eye it drew it for;
- ``light+shuffled_hp``: the light plus *another* eye's high-pass change: the same texture
  statistics with no relation to this eye's iris or lids. If it costs as much as the own one,
  the cost is texture on the gallery side, not a moved gaze;
- ``light+white_noise_same_std``: white noise of each image's high-pass std (what the 4 x 4
  pooling of the feature averages away).

Every value is kNN error minus kNN on the synthetic eyes, in degrees. One JSON line is appended
to OUT. Light on CPU (a minute): ``python scripts/knn_texture.py --work WORK --run RUN --out OUT``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from benchmarks.datasets.prepare_demo import prepare_demo_domain
from estimators.base import EyeData
from estimators.geometry import mean_angular_error_deg
from estimators.registry import create_estimator
from refine.apply import load_refiner
from refine.diagnostics import refine_images

BLUR_SIGMA_PX = 3.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True, help="a bench run --eval dev work dir")
    ap.add_argument("--run", type=Path, required=True, help="a lit SimGAN refiner run dir")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-train", type=int, default=4000)
    args = ap.parse_args()
    stores = args.work / "stores" / "demo"
    syn = prepare_demo_domain(stores / "synthetic-sim-n16000-s0", "sim", 16000, 0, progress=False)
    dev = prepare_demo_domain(stores / "test-wild-n3000-s2000", "wild", 3000, 2000, progress=False)
    # the training rows of scripts/cause_experiments.py, so the two scripts' numbers pair up
    rows = np.sort(np.random.default_rng([0, 99]).choice(len(syn), args.n_train, replace=False))
    x = np.asarray(syn.images[rows])
    gaze, head = np.asarray(syn.gaze_pitchyaw_rad[rows]), np.asarray(syn.head_pitchyaw_rad[rows])

    def knn_err_deg(images: np.ndarray) -> float:
        est = create_estimator("knn", n_neighbors=10).fit(EyeData(images, head), gaze)
        pred = est.predict(EyeData(dev.images, dev.head_pitchyaw_rad))
        return float(mean_angular_error_deg(pred, dev.gaze_pitchyaw_rad))

    _, lit, ref = refine_images(load_refiner(args.run, "cpu"), x, (36, 60), "cpu", "fp32")
    lit_f = lit.astype(np.float32)
    change = ref.astype(np.float32) - lit_f  # (n, 36, 60) grey levels
    high = change - np.stack([cv2.GaussianBlur(c, (0, 0), BLUR_SIGMA_PX) for c in change])
    rng = np.random.default_rng(0)
    other = high[rng.permutation(len(high))]
    white = rng.standard_normal(high.shape).astype(np.float32)
    white *= high.std(axis=(1, 2), keepdims=True)

    def u8(a: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)

    base = knn_err_deg(x)
    row = {
        "what": "kNN error minus kNN on synthetic (deg), dev people; see scripts/knn_texture.py",
        "run": str(args.run), "n_train": args.n_train, "blur_sigma_px": BLUR_SIGMA_PX,
        "knn_syn_deg": base, "high_pass_std_grey": float(high.std()),
        "light_only": knn_err_deg(lit) - base,
        "R_on_light": knn_err_deg(ref) - base,
        "light+own_hp": knn_err_deg(u8(lit_f + high)) - base,
        "light+shuffled_hp": knn_err_deg(u8(lit_f + other)) - base,
        "light+white_noise_same_std": knn_err_deg(u8(lit_f + white)) - base,
    }  # fmt: skip
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()

"""`bench perf --only estimators`: fit and predict throughput of every registered estimator on the
same demo data, and the paper CNN's training rate in fp32 and bf16 next to the matmul yardstick.

Every estimator runs with its default parameters, except the CNN: one epoch, no progress bar.
The CNN's implied efficiency is (training images/s x 3 x 0.18 GFLOP) / matmul GFLOP/s of the
same precision: a training step costs about three forward passes (forward, input gradient,
weight gradient) and the paper network's forward pass is about 0.18 GFLOP per 35x55 image.
"""

from __future__ import annotations

import time
from typing import Any

Row = dict[str, Any]

TRAIN_FLOP_FACTOR = 3.0  # backward ~ 2x forward


def _demo(n: int, seed: int):
    from benchmarks.datasets.demo import render_domain
    from estimators import EyeData

    d = render_domain("wild", n, seed=seed)
    return EyeData(d["images"], d["head_pitchyaw_rad"]), d["gaze_pitchyaw_rad"]


def _fit_predict_rows(n_train: int, n_test: int) -> list[Row]:
    from estimators import create_estimator, list_estimators
    from estimators.geometry import mean_angular_error_deg

    X_tr, y_tr = _demo(n_train, seed=1)
    X_te, y_te = _demo(n_test, seed=2)
    extra = {"cnn": {"epochs": 1, "progress": False}}
    rows: list[Row] = []
    for name in list_estimators():
        est = create_estimator(name, random_state=0, **extra.get(name, {}))
        t0 = time.perf_counter()
        est.fit(X_tr, y_tr)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = est.predict(X_te)
        predict_s = time.perf_counter() - t0
        err_deg = round(mean_angular_error_deg(pred, y_te), 2)
        common = {"n_train": n_train, "n_test": n_test, "demo_wild_err_deg": err_deg}
        rows.append({"what": f"fit {name}", "value": n_train / fit_s, "unit": "images/s",
                     "fit_s": round(fit_s, 2), **common})  # fmt: skip
        rows.append({"what": f"predict {name}", "value": n_test / predict_s, "unit": "images/s",
                     "predict_s": round(predict_s, 3), **common})  # fmt: skip
    return rows


def _cnn_train_rows(quick: bool) -> list[Row]:
    import torch

    from benchmarks.perf.core import matmul_gflops
    from estimators.cnn import FORWARD_GFLOP_PER_IMAGE, PAPER_INPUT_HW, PaperGazeNet
    from estimators.torch_train import measure_train_images_per_s
    from torchkit.device import describe_device, resolve_device

    device = resolve_device("auto")
    rows: list[Row] = []
    for precision, bf16, dtype in (("fp32", False, "float32"), ("bf16", True, "bfloat16")):
        torch.manual_seed(0)
        net = PaperGazeNet().to(device)
        if bf16:
            net = net.to(memory_format=torch.channels_last)
        rate = measure_train_images_per_s(
            net, input_hw=PAPER_INPUT_HW, device=device, bf16=bf16, batch_size=64,
            n_steps=3 if quick else 8,
        )  # fmt: skip
        gflops = matmul_gflops(dtype, device=device)
        used = rate * TRAIN_FLOP_FACTOR * FORWARD_GFLOP_PER_IMAGE
        rows.append({
            "what": f"cnn (paper) train {precision}",
            "value": rate,
            "unit": "images/s",
            "device": describe_device(device),
            "batch": 64,
            "matmul_gflops": round(gflops, 1),
            "implied_gflops": round(used, 1),
            "fraction_of_matmul": round(used / gflops, 3),
        })  # fmt: skip
    return rows


def perf_estimators(quick: bool = False) -> list[Row]:
    """Rows: fit/predict images/s per estimator (same demo data), then CNN training fp32 / bf16."""
    n_train, n_test = (1024, 512) if quick else (4096, 1024)
    return _fit_predict_rows(n_train, n_test) + _cnn_train_rows(quick)

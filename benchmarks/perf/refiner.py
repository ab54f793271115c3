"""`bench perf --only refiner`: SimGAN refiner training and refinement speed on this machine.

Rows: images/s of one refiner update (R forward + backward through D, the paper-size networks),
of one whole main-loop step (kg refiner updates + kd discriminator updates, counted as kg x batch
refiner images), and of refinement (inference); each with the achieved FLOP rate as a fraction
of the dense matmul rate of the same precision measured in the same run. fp32 always, and bf16 +
channels_last where the CPU has native bf16 (or on CUDA). Training counts 3 forward passes'
FLOPs per image (forward + backward w.r.t. activations and weights), D's included.

On a machine shared with other jobs the figures move a lot; on a loaded 2-core box one torch
thread can beat two (thread synchronisation): compare runs taken under the same load.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.perf.core import Row, matmul_gflops, timeit


def _rates(precision: str, device: str, quick: bool) -> dict[str, float]:
    import torch

    from refine.apply import iter_refined
    from refine.config import RefinerConfig
    from refine.trainer import Trainer

    batch = 32 if quick else 128
    cfg = RefinerConfig(batch_size=batch, buffer_size=4 * batch, precision=precision, device=device)
    rng = np.random.default_rng(0)
    syn = rng.integers(0, 256, (4 * batch, 36, 60), dtype=np.uint8)
    real = rng.integers(0, 256, (4 * batch, 36, 60), dtype=np.uint8)
    t = Trainer(syn, real, cfg)
    t.d_step()  # fills part of the buffer so timed D steps draw from it

    def main_step():
        for _ in range(cfg.kg):
            t.r_step(pretrain=False)
        for _ in range(cfg.kd):
            t.d_step()

    min_s, reps = (0.5, 3) if quick else (2.0, 10)
    r_s = timeit(lambda: t.r_step(pretrain=False), min_s=min_s, max_reps=reps)
    step_s = timeit(main_step, min_s=min_s, max_reps=reps)
    n_ref = 4 * batch if quick else 2048
    images = rng.integers(0, 256, (n_ref, 36, 60), dtype=np.uint8)
    t.R.eval()

    def refine_all():
        for _ in iter_refined(t.R, images, batch_size=256, device=t.device, precision=precision):
            pass
        if t.device.startswith("cuda"):
            torch.cuda.synchronize()

    apply_s = timeit(refine_all, min_s=min_s, max_reps=reps)
    return {
        "update": batch / r_s,
        "main_step": cfg.kg * batch / step_s,
        "refine": n_ref / apply_s,
        "batch": batch,
        "bf16": t.bf16,
    }


def perf_refiner(quick: bool = False) -> list[Row]:
    import torch

    from refine.config import RefinerConfig
    from refine.networks import discriminator_flops, refiner_flops
    from torchkit.device import cpu_has_fast_bf16, resolve_device

    device = resolve_device("auto")
    c = RefinerConfig()
    fwd_r = refiner_flops(c.refiner_width, c.refiner_blocks, c.input_hw)
    fwd_d = discriminator_flops(c.disc_widths, c.input_hw)
    # per refiner image: 3x R forward + 3x D forward (the update backpropagates through D)
    flops = {"update": 3 * (fwd_r + fwd_d), "refine": fwd_r}
    # per main step: kg updates + a D step on b real + b refined (R forward on b/2 of them)
    step_flops = c.kg * 3 * (fwd_r + fwd_d) + 0.5 * fwd_r + 2 * 3 * fwd_d
    flops["main_step"] = step_flops / c.kg
    precisions = ["fp32"]
    if device.startswith("cuda") or cpu_has_fast_bf16():
        precisions.append("bf16")
    rows: list[Row] = []
    for precision in precisions:
        t0 = time.perf_counter()
        yard = matmul_gflops("float32" if precision == "fp32" else "bfloat16", device=device)
        rates = _rates(precision, device, quick)
        label = "fp32" if precision == "fp32" else "bf16+channels_last"
        for key, what in (
            ("update", "refiner update (paper size)"),
            ("main_step", "train main step (kg=2, kd=1)"),
            ("refine", "refinement (inference)"),
        ):
            gflops = rates[key] * flops[key] / 1e9
            rows.append(
                {
                    "what": f"{what} {label}",
                    "value": rates[key],
                    "unit": "images/s",
                    "gflop_s": round(gflops, 1),
                    "frac_of_matmul": round(gflops / yard, 3),
                    "matmul_gflop_s": round(yard, 1),
                    "batch": rates["batch"],
                    "threads": torch.get_num_threads(),
                    "s": round(time.perf_counter() - t0, 1),
                }
            )
    rows[0]["target"] = "~44 images/s fp32, >= 113 bf16+channels_last on a 2-core AMX CPU"
    return rows

"""`bench perf --only budget`: the paper-scale Table 1 in FLOPs, and what it would take on one GPU.

Per-image FLOPs are counted, not estimated: torch.utils.flop_counter.FlopCounterMode runs the
paper networks (refine/networks.py at RefinerConfig's defaults, estimators/cnn.py's PaperGazeNet
at width 1) forward, and forward + backward for the training stages, on a small CPU batch. A
convolution's or matmul's FLOPs do not depend on precision, so the counts hold for bf16 on a GPU.
Stage totals use the paper profile's sizes (benchmarks/profiles/paper.toml); the GPU time is
``total / (peak x fraction)`` with an ASSUMED fraction of peak (nothing here measures a GPU).
The data rate is the uint8 36x60 store bytes a stage must read per second to keep that pace.
"""

from __future__ import annotations

from benchmarks.perf.core import Row

H200_BF16_DENSE_FLOP_S = 989e12  # NVIDIA H200 SXM spec sheet, bf16 dense tensor-core peak
ASSUMED_FRACTION = 0.15  # small convs (1-192 channels, 35x55) keep tensor cores mostly idle
STORE_BYTES = 36 * 60  # one uint8 grey eye image in a store
B = 2  # images per counted batch (FLOPs scale linearly in the batch; small is quick)


def _flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def per_image_flops() -> dict[str, float]:
    """FLOPs per image: R and D forward, an R update, a D-step image, CNN forward / train."""
    import torch

    from estimators.cnn import PaperGazeNet
    from refine import losses
    from refine.config import RefinerConfig
    from refine.networks import LocalDiscriminator, build_networks

    cfg = RefinerConfig()
    R, D = build_networks(cfg)
    x = torch.rand(B, 1, *cfg.input_hw) * 2 - 1

    def r_update():  # adversarial R update: D frozen, backward through D into R
        D.requires_grad_(False)
        y = R(x)
        loss = losses.patch_cross_entropy(D(y), LocalDiscriminator.REAL)
        (loss + cfg.lambda_reg * losses.self_regularisation(y, x)).backward()
        D.requires_grad_(True)

    def d_train():  # D forward + backward on one batch of (real or refined) images
        losses.patch_cross_entropy(D(x), LocalDiscriminator.REAL).backward()

    def r_pretrain():
        losses.self_regularisation(R(x), x).backward()

    net = PaperGazeNet()
    xc, head = torch.rand(B, 1, 35, 55), torch.zeros(B, 2)

    from estimators.timm_backbone import TimmGazeNet

    resnet = TimmGazeNet("resnet18")
    xr = torch.rand(B, 1, 72, 120)  # GazeCNN's input for timm backbones

    def cnn_train():
        (net(xc, head) ** 2).sum().backward()

    def resnet_train():
        (resnet(xr, head) ** 2).sum().backward()

    with torch.no_grad():
        r_fwd = _flops(lambda: R(x)) / B
        d_fwd = _flops(lambda: D(x)) / B
        cnn_fwd = _flops(lambda: net(xc, head)) / B
        resnet_fwd = _flops(lambda: resnet(xr, head)) / B
    return {
        "R forward": r_fwd,
        "D forward": d_fwd,
        "R update": _flops(r_update) / B,
        "R pretrain": _flops(r_pretrain) / B,
        "D train": _flops(d_train) / B,
        "CNN forward": cnn_fwd,
        "CNN train": _flops(cnn_train) / B,
        "ResNet-18 forward": resnet_fwd,
        "ResNet-18 train": _flops(resnet_train) / B,
    }


def paper_stages(f: dict[str, float]) -> list[tuple[str, float, float]]:
    """(stage, total FLOPs, store images read) at the paper profile's sizes, one seed."""
    from benchmarks.pipeline.suite import load_profile
    from refine.config import RefinerConfig

    p, c = load_profile("paper"), RefinerConfig()
    r, b = p["refiner"], int(p["refiner"]["batch_size"])
    n_sim, n_test = int(p["demo"]["n_sim"]), int(p["demo"]["n_test"])
    n1, n_lab = int(p["train"]["n_train"]), int(p["demo"]["n_lab"])
    epochs = int(p["estimators"]["cnn"]["epochs"])
    # one main step: kg R updates on b synthetic; kd D steps: R forward on b/2 new synthetic,
    # D trained on b real + b refined (half of them from the history buffer, not the store)
    step = c.kg * b * f["R update"] + c.kd * (b / 2 * f["R forward"] + 2 * b * f["D train"])
    step_images = c.kg * b + c.kd * (b / 2 + b)
    pre = r["pretrain_r_steps"] * b * f["R pretrain"]
    pre += r["pretrain_d_steps"] * (b * f["R forward"] + 2 * b * f["D train"])
    pre_images = r["pretrain_r_steps"] * b + r["pretrain_d_steps"] * 2 * b
    steps = int(r["steps"])
    stages = [
        (
            "refiner training (10k steps, kg=2, + pretraining)",
            steps * step + pre,
            steps * step_images + pre_images,
        ),
        (f"refining {n_sim:,} images", n_sim * f["R forward"], n_sim),
    ]
    # CNN rows of table1: lab (n_lab), synthetic and refined at 1x (n_train) and 4x (4 x n_train)
    cnn_rows = [
        ("cnn-lab", min(n_lab, n1), "CNN"),
        ("cnn-synthetic", n1, "CNN"),
        ("cnn-refined", n1, "CNN"),
        ("cnn-synthetic-4x", 4 * n1, "CNN"),
        ("cnn-refined-4x", 4 * n1, "CNN"),
        ("resnet18-refined", n1, "ResNet-18"),
    ]
    for name, n, net in cnn_rows:
        total = epochs * n * f[f"{net} train"] + n_test * f[f"{net} forward"]
        stages.append(
            (f"{name} ({n:,} x {epochs} epochs + {n_test:,} test)", total, epochs * n + n_test)
        )
    return stages


def perf_budget(quick: bool = False) -> list[Row]:
    """The section: budget_rows of freshly counted per-image FLOPs."""
    return budget_rows(per_image_flops())


def budget_rows(f: dict[str, float]) -> list[Row]:
    """Rows: FLOPs per image per network pass, then each paper-scale stage's FLOPs, its time on
    one H200 at the assumed fraction of peak, and the store read rate that time needs."""
    rows: list[Row] = [
        {"what": f"per image: {k}", "value": v / 1e6, "unit": "MFLOP"} for k, v in f.items()
    ]
    rate = H200_BF16_DENSE_FLOP_S * ASSUMED_FRACTION
    total_s = 0.0
    for name, flops, images in paper_stages(f):
        s = flops / rate
        total_s += s
        rows.append(
            {
                "what": name,
                "value": flops / 1e15,
                "unit": "PFLOP",
                "h200_s": round(s, 1),
                "read_MB_s": round(images * STORE_BYTES / s / 1e6, 1),
                "images_s": round(images / s),
            }
        )
    rows.append(
        {
            "what": "paper table, one seed (GPU stages)",
            "value": total_s / 60,
            "unit": "min on one H200",
            "assumed_fraction_of_peak": ASSUMED_FRACTION,
            "peak_flop_s": H200_BF16_DENSE_FLOP_S,
            "measured": False,
        }
    )
    return rows

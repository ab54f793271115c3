"""`bench perf --only budget`: the paper-scale Table 1 in FLOPs, and what it would take on one GPU.

Per-image FLOPs are counted, not estimated: torch.utils.flop_counter.FlopCounterMode runs the
paper networks (refine/networks.py at RefinerConfig's defaults, estimators/cnn.py's PaperGazeNet
at width 1) forward, and forward + backward for the training stages, on a small CPU batch. A
convolution's or matmul's FLOPs do not depend on precision, so the counts hold for bf16 on a GPU.
Stage totals use the paper profile's sizes (benchmarks/profiles/paper.toml), and each CNN row
of the table1 suite trains for the profile's budget in images seen (``train_samples``), turned
into whole epochs by the estimator's own rule, so this budget and the profile cannot drift. The
GPU time is ``total / (peak x fraction)`` with an ASSUMED fraction of peak: every time here is
estimated from FLOPs, not measured (each row says so). The data rate is the uint8 36x60 store
bytes a stage must read per second to keep that pace.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.perf.core import Row

H200_BF16_DENSE_FLOP_S = 989e12  # NVIDIA H200 SXM spec sheet, bf16 dense tensor-core peak
ASSUMED_FRACTION = 0.15  # small convs (1-192 channels, 35x55) keep tensor cores mostly idle
STORE_BYTES = 36 * 60  # one uint8 grey eye image in a store
B = 2  # images per counted batch (FLOPs scale linearly in the batch; small is quick)
BASIS = f"estimated from FLOPs (assumed {ASSUMED_FRACTION:.0%} of bf16 peak), not measured"
# table1 CNN methods -> the network whose counted FLOPs price them (per_image_flops' names)
CNN_NETWORKS = {"cnn": "CNN", "cnn:resnet18": "ResNet-18", "mpiigaze-cnn": "Multimodal CNN"}


def _flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def per_image_flops() -> dict[str, float]:
    """FLOPs per image: R and D forward, an R update, a D-step image, each CNN forward / train."""
    import torch

    from estimators.cnn import PaperGazeNet
    from estimators.multimodal_cnn import INPUT_HW, MultimodalLeNet
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

    lenet = MultimodalLeNet(head_pose=True)  # cnn-lab's network (Zhang et al. 2015)
    xl = torch.rand(B, 1, *INPUT_HW)

    def cnn_train():
        (net(xc, head) ** 2).sum().backward()

    def lenet_train():
        (lenet(xl, head) ** 2).sum().backward()

    def resnet_train():
        (resnet(xr, head) ** 2).sum().backward()

    with torch.no_grad():
        r_fwd = _flops(lambda: R(x)) / B
        d_fwd = _flops(lambda: D(x)) / B
        cnn_fwd = _flops(lambda: net(xc, head)) / B
        lenet_fwd = _flops(lambda: lenet(xl, head)) / B
        resnet_fwd = _flops(lambda: resnet(xr, head)) / B
    return {
        "R forward": r_fwd,
        "D forward": d_fwd,
        "R update": _flops(r_update) / B,
        "R pretrain": _flops(r_pretrain) / B,
        "D train": _flops(d_train) / B,
        "CNN forward": cnn_fwd,
        "CNN train": _flops(cnn_train) / B,
        "Multimodal CNN forward": lenet_fwd,
        "Multimodal CNN train": _flops(lenet_train) / B,
        "ResNet-18 forward": resnet_fwd,
        "ResNet-18 train": _flops(resnet_train) / B,
    }


@dataclass(frozen=True)
class Stage:
    """One paper-scale GPU stage, one seed: its FLOPs and the store images it reads; a CNN row
    also names its epochs and the training images it sees (epochs x fitting rows)."""

    name: str
    flops: float
    images_read: int
    epochs: int | None = None
    images_seen: int | None = None


@dataclass(frozen=True)
class CnnRow:
    """A table1 CNN row at the paper profile's sizes, with the epochs its estimator would run."""

    id: str
    network: str  # a CNN_NETWORKS value
    n: int  # training rows drawn for the row
    n_fit: int  # of them, outside the validation split
    epochs: int

    @property
    def n_val(self) -> int:
        return self.n - self.n_fit

    @property
    def images_seen(self) -> int:
        return self.epochs * self.n_fit


def cnn_rows(profile: dict) -> list[CnnRow]:
    """The table1 suite's CNN rows the profile runs, each with its training rows and the epochs
    its estimator turns the profile's ``[estimators.<method>]`` budget into (``train_samples``
    over the fitting rows, else ``epochs``). The fitting rows are counted as the row split does
    (``val_fraction`` of the rows held out); a source with people holds out whole people, which
    moves the count by a few per cent."""
    from benchmarks.pipeline.suite import load_suite, row_params
    from estimators.registry import create_estimator

    n_train = int(profile["train"]["n_train"])
    demo = profile["demo"]
    pool = {"real-lab": int(demo["n_lab"]), "synthetic": int(demo["n_sim"])}
    out = []
    for r in load_suite("table1").rows:
        base = r.method.split(":", 1)[0]
        if base not in ("cnn", "mpiigaze-cnn") or r.id in profile["rows"]["skip"]:
            continue
        if r.method not in CNN_NETWORKS:
            raise ValueError(f"{r.id}: no FLOP count for {r.method!r} (add it to CNN_NETWORKS)")
        n = min(pool["real-lab" if r.train == "real-lab" else "synthetic"], n_train * r.train_scale)
        est = create_estimator(r.method, **row_params(r, profile))
        n_fit = n - int(round(n * float(est.val_fraction)))
        out.append(CnnRow(r.id, CNN_NETWORKS[r.method], n, n_fit, est.epochs_for(n_fit)))
    return out


def paper_stages(f: dict[str, float]) -> list[Stage]:
    """The GPU stages at the paper profile's sizes, one seed."""
    from benchmarks.pipeline.refiner_stage import resolved_refiner_config
    from benchmarks.pipeline.suite import load_profile

    p = load_profile("paper")
    c = resolved_refiner_config(p, seed=0, device="cpu")
    b, n_sim, n_test = c.batch_size, int(p["demo"]["n_sim"]), int(p["demo"]["n_test"])
    # pretraining: R on the self-regularisation loss alone; D on b real + b refined per step
    pre = c.pretrain_r_steps * b * f["R pretrain"]
    pre += c.pretrain_d_steps * (b * f["R forward"] + 2 * b * f["D train"])
    pre_images = c.pretrain_r_steps * b + c.pretrain_d_steps * 2 * b
    # one main step: kg R updates on b synthetic; kd D steps: R forward on b/2 new synthetic,
    # D trained on b real + b refined (half of them from the history buffer, not the store)
    step = c.kg * b * f["R update"] + c.kd * (b / 2 * f["R forward"] + 2 * b * f["D train"])
    step_images = c.kg * b + c.kd * (b / 2 + b)
    stages = [
        Stage(
            f"refiner pretraining ({c.pretrain_r_steps:,} R + {c.pretrain_d_steps:,} D steps)",
            pre,
            pre_images,
        ),
        Stage(
            f"refiner adversarial ({c.steps:,} steps, kg={c.kg}, kd={c.kd})",
            c.steps * step,
            int(c.steps * step_images),
        ),
        Stage(f"refining {n_sim:,} images", n_sim * f["R forward"], n_sim),
    ]
    # each CNN row: its epochs over the fitting rows, a validation pass per epoch, the test set
    for r in cnn_rows(p):
        train, fwd = f[f"{r.network} train"], f[f"{r.network} forward"]
        val = r.epochs * r.n_val
        stages.append(
            Stage(
                f"{r.id} ({r.epochs} x {r.n_fit:,} = {r.images_seen:,} seen + {n_test:,} test)",
                r.images_seen * train + (val + n_test) * fwd,
                r.images_seen + val + n_test,
                r.epochs,
                r.images_seen,
            )
        )
    return stages


def perf_budget(quick: bool = False) -> list[Row]:
    """The section: budget_rows of freshly counted per-image FLOPs."""
    return budget_rows(per_image_flops())


def budget_rows(f: dict[str, float]) -> list[Row]:
    """Rows: FLOPs per image per network pass (counted), then each paper-scale stage's FLOPs, its
    time on one H200 at the assumed fraction of peak and the store read rate that time needs
    (estimated, each row marked ``measured: False`` with its ``basis``)."""
    rows: list[Row] = [
        {"what": f"per image: {k}", "value": v / 1e6, "unit": "MFLOP"} for k, v in f.items()
    ]
    rate = H200_BF16_DENSE_FLOP_S * ASSUMED_FRACTION
    total_s = 0.0
    for st in paper_stages(f):
        s = st.flops / rate
        total_s += s
        row: Row = {
            "what": st.name,
            "value": st.flops / 1e15,
            "unit": "PFLOP",
            "h200_s": round(s, 1),
            "read_MB_s": round(st.images_read * STORE_BYTES / s / 1e6, 1),
            "images_s": round(st.images_read / s),
        }
        if st.images_seen is not None:
            row.update(epochs=st.epochs, images_seen=st.images_seen)
        rows.append({**row, "measured": False, "basis": BASIS})
    rows.append(
        {
            "what": "paper table, one seed (GPU stages)",
            "value": total_s / 60,
            "unit": "min on one H200",
            "assumed_fraction_of_peak": ASSUMED_FRACTION,
            "peak_flop_s": H200_BF16_DENSE_FLOP_S,
            "measured": False,
            "basis": BASIS,
        }
    )
    return rows

"""A paper-size refiner pilot for scripts/gpu-check.sh: the paper networks (RefinerConfig's
defaults: R 64 wide x 4 blocks, D 96-64-32-32) at batch 512 for 100 adversarial steps on demo
images, timed end to end. ``python -m benchmarks.perf.pilot OUT.json [--device cuda]``; with
``--sweep OUT_DIR`` it runs the settings sweep of benchmarks/perf/sweep.py instead, at the GPU
size unless ``--set key=value`` (RefinerConfig fields over SWEEP_RUN, for every setting),
``--only NAME,...`` and ``--images N_SIM,N_REAL`` shrink it, e.g. for a CPU pilot.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any


def refiner_pilot(device: str = "cuda", steps: int = 100, batch: int = 512) -> dict[str, Any]:
    """Train the paper-size refiner for ``steps`` main steps; wall seconds and images/s."""
    import torch

    from benchmarks.datasets.demo import render_domain
    from refine.config import RefinerConfig
    from refine.train import train_refiner

    t0 = time.perf_counter()
    n = 8 * batch  # enough distinct images that batches are not one block repeated
    sim = render_domain("sim", n, seed=1)
    wild = render_domain("wild", n, seed=2)
    render_s = time.perf_counter() - t0
    cfg = RefinerConfig(
        steps=steps,
        batch_size=batch,
        pretrain_r_steps=10,
        pretrain_d_steps=10,
        device=device,
        checkpoint_every=10 * steps,  # the end-of-run checkpoint only
        sample_every=10 * steps,
        log_every=10,
        diag_n=500,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = train_refiner(
            sim["images"], wild["images"], cfg, Path(tmp) / "run", progress=False
        )
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        wall_s = time.perf_counter() - t0
    ips = summary.get("images_per_s")  # refiner images / training seconds (R updates)
    return {
        "what": "refiner pilot (paper networks, batch 512)",
        "device": device,
        "steps": steps,
        "batch": batch,
        "render_s": round(render_s, 1),
        "wall_s": round(wall_s, 1),
        "images_per_s": ips,
        "bf16": summary.get("bf16"),
        "final_losses": summary.get("final_losses"),
        # the paper's 10k main steps (kg R updates of a batch each) at this pace
        "extrapolated_10k_steps_min": round(10_000 * cfg.kg * batch / ips / 60, 1) if ips else None,
    }


def main(argv: list[str] | None = None) -> None:
    from torchkit.files import write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path, help="JSON file to write (with --sweep: a directory)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=100, help="pilot: main steps")
    ap.add_argument("--sweep", action="store_true", help="run the settings sweep into OUT")
    ap.add_argument("--jobs", type=int, help="sweep: settings at once [all on CUDA, 1 on CPU]")
    ap.add_argument("--deadline-s", type=float, help="sweep: stop what still runs after this")
    ap.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sweep: a RefinerConfig field over SWEEP_RUN for every setting",
    )
    ap.add_argument("--only", help="sweep: these settings of SWEEP_SETTINGS (comma-separated)")
    ap.add_argument("--images", help="sweep: N_SIM,N_REAL demo images [SWEEP_IMAGES]")
    ap.add_argument(
        "--work", type=Path, help="sweep: keep the run directories here [a temporary one]"
    )
    args = ap.parse_args(argv)
    if args.sweep:
        from benchmarks.perf.sweep import SWEEP_IMAGES, SWEEP_SETTINGS, refiner_sweep
        from refine.config import parse_override

        settings = SWEEP_SETTINGS
        if args.only:
            names = [n.strip() for n in args.only.split(",") if n.strip()]
            known = dict(SWEEP_SETTINGS)
            unknown = [n for n in names if n not in known]
            if unknown:
                ap.error(f"--only: no setting {', '.join(unknown)} (known: {', '.join(known)})")
            settings = tuple((n, known[n]) for n in names)
        images = SWEEP_IMAGES
        if args.images:
            try:
                images = tuple(int(n) for n in args.images.split(","))
            except ValueError:
                images = ()
            if len(images) != 2 or min(images) < 1:
                ap.error(f"--images {args.images!r}: expected N_SIM,N_REAL, two counts >= 1")
        run = dict(parse_override(s) for s in args.sets) or None
        rows = refiner_sweep(
            args.out, args.device, settings=settings, run=run, images=images, jobs=args.jobs,
            deadline_s=args.deadline_s, work=args.work,
        )  # fmt: skip
        print(f"sweep: wrote {args.out}/sweep.jsonl and sweep.md")
        for r in rows:
            print(f"sweep {r['name']}: {r['status']}")
        # a diverged or stopped setting is a finding; a crashed one fails the stage
        raise SystemExit(1 if any(r["status"].startswith("failed") for r in rows) else 0)
    write_json_atomic(args.out, refiner_pilot(args.device, args.steps))


if __name__ == "__main__":
    main()

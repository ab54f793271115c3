"""The pipeline's two refiner stages: train SimGAN's refiner, then refine the synthetic store.

Each stage's output lives under a key = hash(its config + the checksums of its inputs), so a
re-run finds finished work, and a killed refiner run resumes from its last checkpoint.
A profile's ``[refiner] kind`` (default ``simgan``) names the registered refiner that a bare
``train = "refined"`` row means; ``kind = "identity"`` (the pipeline's dummy refiner, for fast
tests) makes the "refined" store the synthetic images unchanged, and rows say so in their
provenance. A row that names its refiner (``refined:<name>``) uses that one whatever the kind.
Refiners other than SimGAN are fitted by refiner_fit.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.datasets.store import Store, is_store, open_store
from estimators.base import UserError
from torchkit.files import config_hash, write_json_atomic


def refiner_settings(
    profile: dict[str, Any], seed: int, device: str, precision: str | None = None
) -> dict[str, Any]:
    """The refiner's config for this run (profile section + seed + device, + the run's precision
    where given; else the profile's), 'kind' split off."""
    from refine.config import RefinerConfig

    cfg = dict(profile.get("refiner", {}))
    cfg.pop("kind", None)
    preset = cfg.pop("preset", None)
    if preset is not None:  # the preset's keys, then the profile's overrides
        cfg = RefinerConfig.preset(preset, **cfg).key_dict()
    if precision is not None:
        cfg["precision"] = precision
    return {**cfg, "seed": seed, "device": device}


def refiner_kind(profile: dict[str, Any]) -> str:
    """The registered refiner a bare ``refined`` row means (the profile's kind; simgan)."""
    from refine.registry import list_refiners

    kind = profile.get("refiner", {}).get("kind", "simgan")
    if kind not in list_refiners():
        raise UserError(
            f"profile [refiner] kind {kind!r} is not a registered refiner; "
            f"available: {', '.join(list_refiners())}"
        )
    return kind


def refiner_name(train: str, profile: dict[str, Any]) -> str | None:
    """The refiner behind a row's training source: ``refined:<name>`` -> name, ``refined`` ->
    the profile's kind, anything else (real-lab, synthetic) -> None."""
    if train == "refined":
        return refiner_kind(profile)
    if train.startswith("refined:"):
        return train.split(":", 1)[1]
    return None


def train_stage(
    synthetic: Store,
    real: Store,
    profile: dict[str, Any],
    seed: int,
    device: str,
    work_dir: Path,
    progress: bool,
    log: Callable[[str], None],
    threads: int | None = None,
    precision: str | None = None,
) -> Path | None:
    """Train (or reuse, or resume) the SimGAN refiner; returns its run directory.

    ``threads`` (torch threads, None: all cores) is part of the run's key: GAN training amplifies
    the last-bit differences that another thread count makes, so runs with different counts are
    different runs, never reused for one another."""
    from refine.config import RefinerConfig
    from refine.train import is_complete, train_refiner
    from torchkit.device import resolve_device, set_threads, use_bf16

    cfg = refiner_settings(profile, seed, device, precision)
    threads = set_threads(threads)
    key = config_hash(
        {
            "refiner": cfg,
            "synthetic": synthetic.checksum,
            "real": real.checksum,
            "threads": threads,
            # what "auto" resolves to here: a bf16 run is never reused as an fp32 one (a work
            # dir shared by machines with and without bf16, or kept across a default change)
            "bf16": use_bf16(
                resolve_device(cfg.get("device", "auto")), cfg.get("precision", "auto")
            ),
        }
    )
    run_dir = work_dir / "refiner" / f"{key}-seed{seed}"
    if is_complete(run_dir):
        log(f"refiner: reusing finished run {run_dir}")
        return run_dir
    resume = run_dir.exists() and any(run_dir.iterdir())
    log(f"refiner: {'resuming' if resume else 'training'} {run_dir}")
    train_refiner(
        synthetic.images,
        real.images,
        RefinerConfig.from_dict(cfg),
        run_dir,
        resume=resume,
        progress=progress,
        # labels let the run's diagnostics measure label preservation (gaze error on R(x) vs x)
        synthetic_gaze_pitchyaw_rad=synthetic.gaze_pitchyaw_rad,
        synthetic_head_pitchyaw_rad=synthetic.head_pitchyaw_rad,
    )
    return run_dir


def refine_stage(
    run_dir: Path,
    synthetic: Store,
    work_dir: Path,
    progress: bool,
    log: Callable[[str], None],
    device: str = "auto",
) -> Store:
    """Refine every synthetic image with the trained refiner (streamed, resumable, cached), on
    ``device``, in the precision the refiner was trained in."""
    from benchmarks.pipeline.refine_store import refine_store

    out = work_dir / "stores" / "refined" / f"{run_dir.name}-{synthetic.checksum[7:19]}"
    if is_store(out):
        log(f"refine: reusing {out}")
        return open_store(out)
    log(f"refine: {len(synthetic):,} images -> {out}")
    return refine_store(run_dir, synthetic.path, out, device=device, progress=progress)


def copy_refiner_outputs(run_dir: Path, dest: Path) -> list[str]:
    """Copy the refiner's newest sample grid, loss curve and diagnostics into the results dir
    (the report reads only the results directory)."""
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    samples = sorted((run_dir / "samples").glob("*.png"))
    picks = {
        "samples.png": samples[-1] if samples else None,
        "losses.png": run_dir / "losses.png",
        "diagnostics.json": run_dir / "diagnostics.json",
        "config.json": run_dir / "config.json",
        "selection.json": run_dir / "selection.json",
        "complete.json": run_dir / "complete.json",
        "run.json": run_dir / "run.json",
    }
    for name, src in picks.items():
        if src is not None and src.is_file():
            shutil.copyfile(src, dest / name)
            copied.append(name)
    return copied


def copy_fit_summary(name: str, run_dir: Path, dest: Path) -> None:
    """Write the refiner's fit.json and diagnostics.json into RESULTS/refiners/NAME/seedS/ (what
    the refiner leaderboard reads), for any refiner: SimGAN's fit time is its run's wall time."""
    dest.mkdir(parents=True, exist_ok=True)
    diag = run_dir / "diagnostics.json"
    if diag.is_file():
        shutil.copyfile(diag, dest / "diagnostics.json")
    if (run_dir / "fit.json").is_file():
        shutil.copyfile(run_dir / "fit.json", dest / "fit.json")
    elif (run_dir / "complete.json").is_file():  # SimGAN: training's own summary
        done = json.loads((run_dir / "complete.json").read_text())
        fit = {"refiner": name, "fit_s": done.get("wall_s"), "run_dir": str(run_dir)}
        write_json_atomic(dest / "fit.json", fit)

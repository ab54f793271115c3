"""The pipeline's two refiner stages: train SimGAN's refiner, then refine the synthetic store.

Each stage's output lives under a key = hash(its config + the checksums of its inputs), so a
re-run finds finished work, and a killed refiner run resumes from its last checkpoint.
A profile's ``[refiner] kind`` (default ``simgan``) names the registered refiner that a bare
``train = "refined"`` row means; ``kind = "identity"`` (the pipeline's dummy refiner, for fast
tests) makes the "refined" store the synthetic images unchanged, and rows say so in their
provenance. A row that names its refiner (``refined:<name>``) uses that one whatever the kind.
Every refiner comes from the registry (``refine.registry``) and every refined store is written
by refine_store.py; refiners other than SimGAN are fitted by refiner_fit.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.datasets.store import Store, is_store, open_store, verify_store
from benchmarks.pipeline.keys import Numerics, stage_key
from estimators.base import UserError
from torchkit.files import write_json_atomic


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


def resolved_refiner_config(
    profile: dict[str, Any], seed: int, device: str, precision: str | None = None
):
    """The run's whole RefinerConfig (preset, then the profile's overrides, then the run's seed,
    device and precision; every other field at its default)."""
    from refine.config import RefinerConfig

    return RefinerConfig.from_dict(refiner_settings(profile, seed, device, precision))


def simgan_key(config: Any, synthetic: Store, real: Store, threads: int) -> str:
    """SimGAN's run key: the resolved config (``key_dict()``: a changed default moves it, a
    profile that spells a default out does not), the two stores' checksums, and the numerics
    (device kind, resolved precision, threads: GAN training amplifies last-bit differences)."""
    from torchkit.device import resolve_device

    settings = config.key_dict()
    device = resolve_device(settings.pop("device"))
    numerics = Numerics.resolve(device, settings.pop("precision"), threads)
    inputs = {"synthetic": synthetic.checksum, "real": real.checksum}
    return stage_key("simgan", settings, inputs, numerics)


# The registered names whose refiner is a SimGAN run of the profile's [refiner] config: the
# paper's method, and the same with refine.config.LIT_RECIPE's departures on top.
SIMGAN_NAMES = ("simgan", "simgan-lit")


def simgan_variant_config(
    name: str, profile: dict[str, Any], seed: int, device: str, precision: str | None = None
):
    """The RefinerConfig a SimGAN-family refiner ``name`` runs for this profile and seed."""
    from refine.config import LIT_RECIPE

    config = resolved_refiner_config(profile, seed, device, precision)
    return config.replace(**LIT_RECIPE) if name == "simgan-lit" else config


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
    name: str = "simgan",
) -> Path | None:
    """Train (or reuse, or resume) a SimGAN refiner (``name``: one of SIMGAN_NAMES) on the run
    directory its key names; returns that directory. Both names share the key function: the
    departures are fields of the config, so the two runs never share a directory.

    ``threads`` (torch threads, None: all cores) is part of the run's key: GAN training amplifies
    the last-bit differences that another thread count makes, so runs with different counts are
    different runs, never reused for one another."""
    from refine.registry import checked_fit, create_refiner
    from refine.train import is_complete
    from torchkit.device import set_threads

    config = simgan_variant_config(name, profile, seed, device, precision)
    key = simgan_key(config, synthetic, real, set_threads(threads))
    run_dir = work_dir / "refiner" / f"{key}-seed{seed}"
    if is_complete(run_dir):
        log(f"refiner: reusing finished run {run_dir}")
        return run_dir
    resume = run_dir.exists() and any(run_dir.iterdir())
    log(f"refiner: {'resuming' if resume else 'training'} {run_dir}")
    refiner = create_refiner(
        "simgan", config=config.to_dict(), run_dir=str(run_dir), device=device, progress=progress
    )
    checked_fit(  # a non-empty run_dir is resumed from its last checkpoint
        refiner,
        "simgan",
        synthetic.images,
        real.images,
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
    threads: int | None = None,
) -> Store:
    """Refine every synthetic image with the trained refiner (streamed, resumable, cached), on
    ``device``, in the precision the refiner was trained in; ``threads``: the torch threads in
    force (None: torch's current count), part of the refined store's key."""
    import torch

    from benchmarks.pipeline.refine_store import refine_store
    from refine.config import RefinerConfig
    from torchkit.device import resolve_device

    trained = RefinerConfig.from_dict(json.loads((Path(run_dir) / "config.json").read_text()))
    numerics = Numerics.resolve(
        resolve_device(device), trained.precision, threads or torch.get_num_threads()
    )
    settings = {"refiner_run": run_dir.name}
    key = stage_key("refined", settings, {"synthetic": synthetic.checksum}, numerics)
    out = work_dir / "stores" / "refined" / f"{run_dir.name}-{key}"
    if is_store(out):
        log(f"refine: reusing {out}")
        return verify_store(open_store(out))
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

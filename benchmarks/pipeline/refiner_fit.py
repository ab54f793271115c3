"""The pipeline's stage for every registered refiner other than SimGAN: fit, refine, score.

SimGAN's stages (refiner_stage.py) keep a trained run directory under its own key, checkpointed
and resumable, and score it as it trains. Every other refiner, built-in or plug-in, goes through
:func:`fit_refined_store`: fitted once per seed on the synthetic and the real-unlabelled stores,
applied to the whole synthetic store by the same refined-store writer as SimGAN
(refine_store.py: a chunk at a time, resumable), and scored by the same diagnostics as SimGAN
(realism, label preservation).

The refined store lives under WORK/stores/refined/<name>-<key>-seed<s>, and the refiner's fit
time, fitted parameters and diagnostics under WORK/refiner/<name>-<key>-seed<s>/, where
key = keys.stage_key(refiner name, its params, the seed, the diagnostics' settings; the two input
checksums; the run's numerics).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.datasets.store import Store, is_store, open_store, verify_store
from benchmarks.pipeline.keys import Numerics, stage_key
from benchmarks.pipeline.refine_store import write_refined_store
from refine.registry import checked_fit, create_refiner
from torchkit.files import write_json_atomic


def refiner_params(name: str, profile: dict[str, Any]) -> dict[str, Any]:
    """A refiner's params: the profile's ``[refiners.NAME]`` table (empty: its defaults)."""
    return dict(profile.get("refiners", {}).get(name, {}))


def _fitted_attributes(refiner: Any) -> dict[str, Any]:
    """The learned scalars (attributes ending in '_') a refiner reports, for fit.json."""
    out = {}
    for k, v in vars(refiner).items():
        if k.endswith("_") and not k.startswith("_") and isinstance(v, (int, float, str, bool)):
            out[k] = v
    return out


def fit_refined_store(
    name: str,
    synthetic: Store,
    real: Store,
    profile: dict[str, Any],
    seed: int,
    work_dir: Path,
    log: Callable[[str], None],
    diag: dict[str, Any],
    device: str = "cpu",
    numerics: Numerics | None = None,
) -> tuple[Store, Path]:
    """(the refined store, the refiner's run dir) for refiner ``name`` and this seed, cached.

    ``diag``: {"diag_n", "input_hw", "probe_steps"} of the diagnostics, as SimGAN's run uses them. A refiner
    whose params include ``seed`` gets the run's seed (each seed is a fresh fit), and one whose
    params include ``device`` gets the run's device. ``numerics`` (device kind, precision,
    threads; None: ``device`` in fp32 on torch's current threads) joins the key."""
    params = refiner_params(name, profile)
    if numerics is None:
        import torch

        numerics = Numerics.resolve(device, "fp32", torch.get_num_threads())
    settings = {"refiner": name, "params": params, "seed": seed, "diag": diag}
    inputs = {"synthetic": synthetic.checksum, "real": real.checksum}
    key = stage_key("refiner-fit", settings, inputs, numerics)
    run_dir = work_dir / "refiner" / f"{name}-{key}-seed{seed}"
    out = work_dir / "stores" / "refined" / f"{name}-{key}-seed{seed}"
    if is_store(out) and (run_dir / "diagnostics.json").is_file():
        log(f"refiner {name}: reusing {out}")
        return verify_store(open_store(out)), run_dir
    refiner = create_refiner(name, **params)
    if "seed" in refiner.get_params():
        refiner.set_params(seed=seed)
    if "device" in refiner.get_params():
        refiner.set_params(device=device)
    log(f"refiner {name}: fitting on {len(synthetic):,} synthetic, {len(real):,} real images")
    t0 = time.perf_counter()
    checked_fit(
        refiner,
        name,
        synthetic.images,
        real.images,
        synthetic_gaze_pitchyaw_rad=synthetic.gaze_pitchyaw_rad,
        synthetic_head_pitchyaw_rad=synthetic.head_pitchyaw_rad,
    )
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    meta = {"name": name, "key": key, "input_checksum": synthetic.checksum}
    source = f"{synthetic.source} ({name} refiner)"
    store = write_refined_store(refiner, name, synthetic, out, meta, source=source)
    transform_s = time.perf_counter() - t0
    run_dir.mkdir(parents=True, exist_ok=True)
    fit = {
        "refiner": name,
        "params": json.loads(json.dumps(refiner.get_params(), default=str)),
        "fitted": _fitted_attributes(refiner),
        "seed": seed,
        "fit_s": fit_s,
        "transform_s": transform_s,
        "key": key,
    }
    write_json_atomic(run_dir / "fit.json", fit)
    log(f"refiner {name}: fit {fit_s:.1f} s, refined in {transform_s:.1f} s; scoring realism")
    from refine.diagnostics import diagnose_refined

    diagnostics = diagnose_refined(
        synthetic.images,
        store.images,
        real.images,
        seed=seed,
        diag_n=int(diag["diag_n"]),
        hw=tuple(diag["input_hw"]),
        gaze_pitchyaw_rad=synthetic.gaze_pitchyaw_rad,
        head_pitchyaw_rad=synthetic.head_pitchyaw_rad,
        probe_steps=int(diag.get("probe_steps", 600)),
    )
    write_json_atomic(run_dir / "diagnostics.json", diagnostics)
    return store, run_dir

"""SimGAN behind the refiner contract: ``fit`` trains (refine.train), ``transform`` refines
(refine.apply), with the run directory's checkpoints, resume and diagnostics kept.

The pipeline gets it from the registry like every refiner: its SimGAN stage fits it on a run
directory named by the run's key (a finished run there is reused, a partial one resumed), and
the refined store is written by the one refined-store writer
(benchmarks/pipeline/refine_store.py) through ``transform`` of :meth:`SimGANRefiner.from_run`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from refine.base import BaseRefiner


def simgan_config(config: dict[str, Any] | None, lit: bool = False):
    """A RefinerConfig from a (partial) dict; a ``preset`` key starts from that preset.
    lit: with refine.config.LIT_RECIPE's departures on top (the ``simgan-lit`` refiner)."""
    from refine.config import LIT_RECIPE, RefinerConfig

    cfg = dict(config or {})
    preset = cfg.pop("preset", None)
    out = RefinerConfig.preset(preset, **cfg) if preset else RefinerConfig.from_dict(cfg)
    return out.replace(**LIT_RECIPE) if lit else out


class SimGANRefiner(BaseRefiner):
    """The SimGAN refiner (Shrivastava et al. 2017).

    config: RefinerConfig fields (and optionally ``preset``), e.g. ``{"preset": "smoke"}``.
    run_dir: where the run lives (checkpoints, samples, diagnostics); None: a new temporary
        directory. A run_dir holding a finished or partial run of the same config is reused or
        resumed, not retrained.
    device: where R is applied by ``transform`` ("auto" | "cpu" | "cuda[:i]").
    progress: a training bar.  batch_size: images per refinement batch.
    """

    LIT = False  # the paper's method; SimGANLitRefiner adds refine.config.LIT_RECIPE

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        run_dir: str | None = None,
        device: str = "auto",
        progress: bool = False,
        batch_size: int = 256,
    ):
        self.config = config
        self.run_dir = run_dir
        self.device = device
        self.progress = progress
        self.batch_size = batch_size

    @classmethod
    def from_run(
        cls, run_dir: str | Path, device: str = "auto", batch_size: int = 256
    ) -> SimGANRefiner:
        """The fitted refiner of a run directory (its config.json and trained R: refiner.pt, else
        the latest checkpoint), loaded on ``device``: refines without training."""
        from refine.apply import load_refiner

        net = load_refiner(run_dir, device)  # one line where config.json or the weights are gone
        config = json.loads((Path(run_dir) / "config.json").read_text())
        refiner = cls(config=config, run_dir=str(run_dir), device=device, batch_size=batch_size)
        refiner.run_dir_, refiner.refiner_, refiner.is_fitted_ = Path(run_dir), net, True
        return refiner

    def _fit(self, synthetic: np.ndarray, real: np.ndarray, **info: Any) -> None:
        from refine.train import train_refiner

        run_dir = Path(self.run_dir or tempfile.mkdtemp(prefix="gazebench-simgan-"))
        resume = run_dir.is_dir() and any(run_dir.iterdir())
        self.summary_ = train_refiner(
            synthetic,
            real,
            simgan_config(self.config, lit=self.LIT),
            run_dir,
            resume=resume,
            progress=self.progress,
            synthetic_gaze_pitchyaw_rad=info.get("synthetic_gaze_pitchyaw_rad"),
            synthetic_head_pitchyaw_rad=info.get("synthetic_head_pitchyaw_rad"),
        )
        self.run_dir_ = run_dir

    def _transform(self, images: np.ndarray) -> np.ndarray:
        from refine.apply import iter_refined, load_refiner

        if not hasattr(self, "refiner_"):
            self.refiner_ = load_refiner(self.run_dir_, self.device)
        out = np.empty(images.shape, np.uint8)
        for start, refined in iter_refined(
            self.refiner_, images, batch_size=self.batch_size, device=self.device
        ):
            out[start : start + len(refined)] = refined
        return out


class SimGANLitRefiner(SimGANRefiner):
    """SimGAN with the departures of refine.config.LIT_RECIPE on top of its config: the real
    pool's light on R's inputs, a residual R at the store's 36x60, and gaze consistency. The
    refiner the demo's Table 1 refined rows use (their label names the departures); ``simgan``
    stays the paper's method beside it."""

    LIT = True

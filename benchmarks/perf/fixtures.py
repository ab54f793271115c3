"""Inputs for `bench perf --scale`, written in the real on-disk formats at any size N.

- :func:`write_mpiigaze_root`: an MPIIGaze folder (``Data/Normalized/pXX/dayYY.mat``, MATLAB v5
  with the ``data.left`` / ``data.right`` structs and a ``filenames`` cell array, plus Evaluation
  Subset lists), N patches = N / 2 images (both eyes), spread over 15 people and day files of
  at most ``per_day`` images like the real dataset (213,659 images, ~350 per day file).
- :func:`write_untrained_refiner`: a finished-looking refiner run (config.json, refiner.pt,
  complete.json) holding an untrained R of a preset's shape: refinement speed does not depend
  on the weights' values.
- :func:`write_eye_store`: a store of N random 36x60 eye images with labels.

UnityEyes renders come from :func:`benchmarks.datasets.unityeyes_synth.write_unityeyes_folder`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.datasets.mpiigaze import EVAL_DIR, NORMALIZED_DIR

PAPER_PEOPLE = 15
EVAL_PER_PERSON = 3000  # the real Evaluation Subset's size per person


def _side(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` random 36x60 patches with gaze vectors pointing away from the camera (-z)."""
    pitch, yaw = np.radians(rng.uniform(-30, 30, (2, n)))
    gaze = np.stack([-np.cos(pitch) * np.sin(yaw), -np.sin(pitch), -np.cos(pitch) * np.cos(yaw)], 1)
    return {
        "image": rng.integers(0, 256, (n, 36, 60), dtype=np.uint8),
        "gaze": gaze,
        "pose": rng.uniform(-0.3, 0.3, (n, 3)),
    }


def write_mpiigaze_root(
    root: Path, n_patches: int, people: int = PAPER_PEOPLE, per_day: int = 400, seed: int = 0
) -> Path:
    """Write an MPIIGaze folder holding ``n_patches`` patches (``n_patches // 2`` images).

    Images are split as evenly as possible over ``people`` people (at least one each), each
    person's into day files of at most ``per_day`` images. Each person's Evaluation Subset list
    names up to 3,000 of its images, alternating left and right eyes.
    """
    import scipy.io

    root = Path(root)
    rng = np.random.default_rng(seed)
    n_images = max(people, n_patches // 2)
    counts = np.full(people, n_images // people)
    counts[: n_images % people] += 1
    lists = root / EVAL_DIR
    lists.mkdir(parents=True, exist_ok=True)
    for p, count in enumerate(counts):
        person = f"p{p:02d}"
        lines: list[str] = []
        for d, start in enumerate(range(0, int(count), per_day), 1):
            n = min(per_day, int(count) - start)
            names = np.array([[f"{k + 1:04d}.jpg"] for k in range(n)], dtype=object)
            data = {"left": _side(rng, n), "right": _side(rng, n)}
            path = root / NORMALIZED_DIR / person / f"day{d:02d}.mat"
            path.parent.mkdir(parents=True, exist_ok=True)
            scipy.io.savemat(path, {"data": data, "filenames": names})
            for k in range(n):
                if len(lines) < EVAL_PER_PERSON:
                    lines.append(f"day{d:02d}/{k + 1:04d}.jpg {('left', 'right')[k % 2]}")
        (lists / f"{person}.txt").write_text("\n".join(lines) + "\n")
    return root


def write_untrained_refiner(run_dir: Path, preset: str = "smoke") -> Path:
    """A refiner run directory that ``refine_store`` accepts, with an untrained R of ``preset``."""
    import torch

    from refine.config import RefinerConfig
    from refine.networks import Refiner
    from refine.train import COMPLETE

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = RefinerConfig.preset(preset, device="cpu")
    torch.manual_seed(0)
    r = Refiner(cfg.refiner_width, cfg.refiner_blocks, cfg.input_hw, cfg.refiner_padding)
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    torch.save(r.state_dict(), run_dir / "refiner.pt")
    (run_dir / COMPLETE).write_text(json.dumps({"note": "untrained, for bench perf --scale"}))
    return run_dir


def write_eye_store(path: Path, n: int, seed: int = 0):
    """A store of ``n`` random 36x60 uint8 eye images with random labels; returns it opened."""
    from benchmarks.datasets.store import write_store

    rng = np.random.default_rng(seed)
    return write_store(
        path,
        images=rng.integers(0, 256, (n, 36, 60), dtype=np.uint8),
        gaze_pitchyaw_rad=rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32),
        head_pitchyaw_rad=rng.uniform(-0.5, 0.5, (n, 2)).astype(np.float32),
        source="perf:random",
    )

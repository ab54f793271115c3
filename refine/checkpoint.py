"""Complete, atomic training checkpoints: everything needed to continue a run bit-for-bit.

A checkpoint holds R, D, both optimisers, the history buffer, the global step, the running
loss accumulators, and every RNG state in play (torch CPU, CUDA when used, numpy Generator,
python ``random``). It is written to a temporary file in the run directory and renamed over
``checkpoint.pt``, so a kill mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from estimators.base import MissingFileError, UserError

CHECKPOINT = "checkpoint.pt"


def rng_state(np_rng: np.random.Generator) -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np_rng.bit_generator.state,
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], np_rng: np.random.Generator) -> None:
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to run_dir/checkpoint.pt atomically (temp file, fsync, rename)."""
    path = Path(run_dir) / CHECKPOINT
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """Read run_dir/checkpoint.pt (CPU tensors); a clear error when missing or unreadable."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise MissingFileError(f"{path}: no checkpoint to resume from")
    try:
        # weights_only=False: the state holds numpy/python RNG tuples; we wrote this file.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a torn or foreign file: say which
        raise UserError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from None

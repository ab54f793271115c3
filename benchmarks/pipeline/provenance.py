"""Provenance for every number: git sha, config hash, package versions, device, time."""

from __future__ import annotations

import functools
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from torchkit.files import config_hash  # the one hasher; named here for the pipeline's callers

REPO_DIR = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def git_info() -> dict[str, Any]:
    """{'git_sha': ..., 'git_dirty': bool} for the checkout the code runs from ('unknown' if none)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO_DIR), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_sha": "unknown", "git_dirty": None}
    return {"git_sha": sha, "git_dirty": dirty}


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    out = {}
    for name in (
        "gazebench",
        "numpy",
        "torch",
        "torchvision",
        "timm",
        "scikit-learn",
        "scipy",
        "opencv-python-headless",
        "pandas",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def provenance(
    config: Any, device: str, seed: int, data_source: str, precision: str | None = None
) -> dict[str, Any]:
    """The provenance block attached to every result row."""
    return {
        **git_info(),
        "config_hash": config_hash(config),
        "seed": seed,
        "data_source": data_source,
        "device": device,
        "precision": precision,
        "packages": package_versions(),
        "host": platform.node(),
        "recorded_at": now_iso(),
    }

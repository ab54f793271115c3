"""`bench perf`: speed figures measured in one run, next to the machine's own matmul rate.

Sections are plain functions returning rows (dicts with at least ``what``, ``value``, ``unit``).
Register a new one in ``SECTIONS`` ("name": "module:function"); they are imported lazily so a
section that needs torch costs nothing when it is not asked for.
"""

from __future__ import annotations

import importlib
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from estimators.base import UserError

Row = dict[str, Any]

SECTIONS: dict[str, str] = {
    "matmul": "benchmarks.perf.core:perf_matmul",
    "render": "benchmarks.perf.core:perf_render",
    "unityeyes": "benchmarks.perf.unityeyes:perf_unityeyes",
    "estimators": "benchmarks.perf.estimators:perf_estimators",
    "refiner": "benchmarks.perf.refiner:perf_refiner",
    "budget": "benchmarks.perf.budget:perf_budget",
}


def timeit(fn: Callable[[], Any], min_s: float = 0.5, max_reps: int = 50) -> float:
    """Seconds per call: one warm-up call, then repeat until ``min_s`` has passed; the median."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (time.perf_counter() - start < min_s or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def matmul_gflops(dtype: str = "float32", n: int = 1024, device: str = "cpu") -> float:
    """Dense n x n matmul rate in GFLOP/s for torch on this machine (the yardstick)."""
    import torch

    dt = getattr(torch, dtype)
    a = torch.randn(n, n, device=device).to(dt)
    b = torch.randn(n, n, device=device).to(dt)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def step():
        torch.mm(a, b)
        sync()

    return 2 * n**3 / timeit(step) / 1e9


def perf_matmul(quick: bool = False) -> list[Row]:
    import torch

    rows = [
        {
            "what": "matmul fp32",
            "value": matmul_gflops("float32"),
            "unit": "GFLOP/s",
            "threads": torch.get_num_threads(),
        }
    ]
    rows.append(
        {
            "what": "matmul bf16",
            "value": matmul_gflops("bfloat16"),
            "unit": "GFLOP/s",
            "threads": torch.get_num_threads(),
        }
    )
    return rows


def perf_render(quick: bool = False) -> list[Row]:
    """Demo-domain rendering rate per domain (single process; numpy elementwise is one core)."""
    from benchmarks.datasets.demo import render_domain

    n = 1024 if quick else 4096
    rows = []
    for domain in ("sim", "lab", "wild"):
        s = timeit(lambda d=domain: render_domain(d, n, seed=1), min_s=0.3, max_reps=5)
        rows.append(
            {
                "what": f"render demo {domain}",
                "value": n / s,
                "unit": "images/s",
                "n": n,
                "target": ">= 2000 images/s on one core",
            }
        )
    return rows


def machine_info() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def run_perf(
    sections: list[str] | None = None, quick: bool = False, out: str | Path | None = None
) -> list[Row]:
    """Run the named sections (default: all) and optionally write the rows as JSON."""
    names = sections or list(SECTIONS)
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise UserError(
            f"unknown perf section(s) {', '.join(unknown)}; available: {', '.join(SECTIONS)}"
        )
    rows: list[Row] = []
    for name in names:
        module, func = SECTIONS[name].split(":")
        for row in getattr(importlib.import_module(module), func)(quick=quick):
            rows.append({"section": name, **row})
    if out is not None:
        from torchkit.files import write_json_atomic

        write_json_atomic(Path(out), {"machine": machine_info(), "rows": rows})
    return rows


def format_rows(rows: list[Row]) -> str:
    lines = [f"{'section':<12} {'what':<44} {'value':>12}  unit"]
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in ("section", "what", "value", "unit")}
        note = ("  " + json.dumps(extra)) if extra else ""
        lines.append(f"{r['section']:<12} {r['what']:<44} {r['value']:>12,.1f}  {r['unit']}{note}")
    return "\n".join(lines)

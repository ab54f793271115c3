"""A small finished-looking `bench run` on demo images, for the study's tests and its example.

:func:`write_demo_run` writes what `bench turing` reads of a run: WORK/stores/ with the demo
``wild`` test store, the ``sim`` synthetic store and a refined one (a cheap registered refiner
fitted on ``wild`` images, e.g. ``degrade``), and RESULTS/rows.jsonl with one synthetic and one
refined row naming those stores by checksum as `bench run` does. Nothing is trained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks.datasets.demo import render_domain
from benchmarks.datasets.store import Store, write_store
from benchmarks.records.rows import SCHEMA


@dataclass(frozen=True)
class DemoRun:
    results_dir: Path
    work_dir: Path
    real: Path  # the test (held-out real) store
    synthetic: Path
    refined: Path | None


def _row(row_id: str, train: str, store: Store, test: Store, refiner: str | None) -> dict:
    desc = f"{store.source} ({len(store):,} pool, {store.checksum[7:19]})"
    if refiner:
        desc += f"; refiner {refiner} (fixture)"
    return {
        "schema": SCHEMA,
        "suite": "table1",
        "row_id": row_id,
        "label": row_id,
        "method": "cnn",
        "train_source": train,
        "refiner": refiner,
        "train_dataset": desc,
        "test_source": f"{test.source} ({len(test):,} images, {test.checksum[7:19]})",
        "seed": 0,
        "data_mode": "demo",
    }


def write_demo_run(
    root: Path, n_real: int = 80, n_synthetic: int = 80, refiner: str | None = "degrade"
) -> DemoRun:
    """A run under ``root``/results and ``root``/work; ``refiner=None``: no refined rows."""
    root = Path(root)
    work, results = root / "work", root / "results"
    real = write_store(
        work / "stores" / "demo" / f"test-wild-n{n_real}-s1000",
        **render_domain("wild", n_real, seed=1000),
        source="demo:wild",
    )
    sim = render_domain("sim", n_synthetic, seed=0)
    synthetic = write_store(
        work / "stores" / "demo" / f"synthetic-sim-n{n_synthetic}-s0", **sim, source="demo:sim"
    )
    rows = [_row("cnn-synthetic", "synthetic", synthetic, real, None)]
    refined = None
    if refiner is not None:
        from refine.registry import create_refiner

        pool = render_domain("wild", n_real, seed=0)["images"]
        out = create_refiner(refiner).fit(sim["images"], pool).transform(sim["images"])
        refined = write_store(
            work / "stores" / "refined" / f"{refiner}-fixture-seed0",
            **{**sim, "images": out},
            source=f"demo:sim ({refiner} refiner)",
        )
        rows.append(_row("cnn-refined", "refined", refined, real, refiner))
    results.mkdir(parents=True, exist_ok=True)
    (results / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return DemoRun(
        results, work, real.path, synthetic.path, None if refined is None else refined.path
    )

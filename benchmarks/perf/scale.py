"""`bench perf --scale`: wall time and peak memory of each data stage as N grows.

Per (stage, N) point the input is written first, in the real on-disk format
(:mod:`benchmarks.perf.fixtures`), then the stage runs in a fresh Python process
(``python -m benchmarks.perf.scale STAGE N DIR``), so no point inherits another's memory
high-water mark. That child times the stage call alone (not interpreter start or imports) and
reports its own peak RSS (``VmHWM``, which includes resident pages of memory-mapped store files)
and peak anonymous RSS (``RssAnon`` sampled every 20 ms: memory the kernel cannot drop). Not
``ru_maxrss``: Linux carries it across ``exec`` from the forking parent, so a child forked from a
parent that had written a large fixture would report the parent's size. Stages run on one core (``jobs=1``, one torch thread): per-item times are per core
and comparable on a shared machine.

Stages: ``mpiigaze`` (N patches of ``.mat`` day files -> the ``all`` and ``eval`` stores),
``unityeyes`` (N 640x480 jpg+json renders -> a store), ``refine`` (a store of N images through an
untrained smoke-preset SimGAN refiner, streaming, 256 per batch).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.perf.scale_report import PAPER_N, Row, read_csv, write_csv, write_plot
from estimators.base import UserError

DEFAULT_SIZES: dict[str, list[int]] = {
    "mpiigaze": [1_000, 10_000, 100_000],
    "unityeyes": [100, 1_000],
    "refine": [1_000, 10_000],
}


def parse_sizes(text: str | None) -> dict[str, list[int]]:
    """``"mpiigaze=1000,10000;refine=1000"`` -> {stage: [N, ...]}; None -> the defaults."""
    if not text:
        return dict(DEFAULT_SIZES)
    sizes: dict[str, list[int]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        stage, _, ns = part.partition("=")
        stage = stage.strip()
        if stage not in DEFAULT_SIZES:
            raise UserError(f"--sizes: unknown stage {stage!r}; choose from {', '.join(PAPER_N)}")
        try:
            sizes[stage] = [int(x) for x in ns.split(",") if x.strip()]
        except ValueError:
            raise UserError(f"--sizes: {part!r} is not 'stage=N,N,...'") from None
        if not sizes[stage] or min(sizes[stage]) < 1:
            raise UserError(f"--sizes: {part!r} needs positive sizes")
    return sizes


def write_input(stage: str, n: int, work: Path) -> None:
    """Write the input of ``stage`` at size ``n`` under ``work`` (not timed)."""
    from benchmarks.perf import fixtures

    if stage == "mpiigaze":
        fixtures.write_mpiigaze_root(work / "in", n)
    elif stage == "unityeyes":
        from benchmarks.datasets.unityeyes_synth import write_unityeyes_folder

        write_unityeyes_folder(work / "in", n, size=(640, 480), seed=1)
    elif stage == "refine":
        fixtures.write_eye_store(work / "in", n)
        fixtures.write_untrained_refiner(work / "run")
    else:
        raise UserError(f"unknown scale stage {stage!r}; choose from {', '.join(DEFAULT_SIZES)}")


def run_stage(stage: str, work: Path) -> float:
    """Run ``stage`` on the input under ``work``; return the seconds the stage call took."""
    if stage == "mpiigaze":
        from benchmarks.datasets.mpiigaze import prepare_mpiigaze as fn

        args, kw = (work / "in", work / "out"), {"progress": False}
    elif stage == "unityeyes":
        from benchmarks.datasets.unityeyes import prepare_unityeyes as fn

        args, kw = (work / "in", work / "out"), {"jobs": 1, "progress": False}
    else:
        import torch

        from benchmarks.pipeline.refine_store import refine_store as fn

        torch.set_num_threads(1)
        args = (work / "run", work / "in", work / "out")
        kw = {"batch_size": 256, "device": "cpu", "progress": False}
    t0 = time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - t0


def measure_point(stage: str, n: int, tmp: Path) -> Row:
    """One CSV row: write the input, run the stage in a fresh process, delete the files."""
    work = Path(tempfile.mkdtemp(prefix=f"{stage}-{n}-", dir=tmp))
    try:
        write_input(stage, n, work)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "benchmarks.perf.scale", stage, str(work)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if r.returncode != 0:
            raise UserError(f"scale point {stage} n={n} failed:\n{r.stderr[-2000:]}")
        got = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "stage": stage,
        "n": n,
        "wall_s": round(got["wall_s"], 4),
        "peak_rss_mb": round(got["peak_rss_mb"], 1),
        "peak_anon_mb": round(got["peak_anon_mb"], 1),
        "us_per_item": round(got["wall_s"] / n * 1e6, 2),
    }


def run_scale(sizes: dict[str, list[int]] | None = None, out_dir: Path | None = None) -> list[Row]:
    """Measure every (stage, N) point; write ``scale.csv`` and ``scale.png`` under ``out_dir``."""
    sizes = sizes or DEFAULT_SIZES
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="gazebench-scale-"))
    try:
        for stage, ns in sizes.items():
            for n in ns:
                rows.append(measure_point(stage, n, tmp))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        # Points already in the CSV at other (stage, N) are kept, so a costly point (paper
        # size) can be added by a later run without re-measuring the rest.
        if (out_dir / "scale.csv").is_file():
            new = {(r["stage"], r["n"]) for r in rows}
            old = [r for r in read_csv(out_dir / "scale.csv") if (r["stage"], r["n"]) not in new]
            rows = sorted(old + rows, key=lambda r: (list(PAPER_N).index(r["stage"]), r["n"]))
        write_csv(rows, out_dir / "scale.csv")
        write_plot(rows, out_dir / "scale.png")
    return rows


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmHWM``, ``RssAnon``) in MB; 0 where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _child(stage: str, work: str) -> None:
    # VmHWM counts the pages of memory-mapped store files the stage wrote or read, which the
    # kernel can drop at will; RssAnon, sampled every 20 ms, is the memory that must stay.
    peak_anon = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak_anon[0] = max(peak_anon[0], _status_mb("RssAnon"))

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    wall = run_stage(stage, Path(work))
    stop.set()
    t.join()
    hwm = _status_mb("VmHWM")
    if not hwm:  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS; only Linux is used here)
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    got = {
        "wall_s": wall,
        "peak_rss_mb": hwm,
        "peak_anon_mb": max(peak_anon[0], _status_mb("RssAnon")),
    }
    print(json.dumps(got))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])

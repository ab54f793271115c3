"""Fixtures shared by the test modules (test modules never import each other or this file)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

# The refiner diagnostics' frozen gaze probe (refine.labelcheck) trains this many steps in the
# tiny refiner below and in the modules that opt in to small_probe (600 by default).
SMALL_PROBE_STEPS = 20

# Tiny refiner runs for the refine tests (seconds, not minutes).
TINY_REFINER = dict(
    refiner_width=8,
    refiner_blocks=1,
    disc_widths=(8, 8, 8, 8),
    batch_size=8,
    pretrain_r_steps=2,
    pretrain_d_steps=2,
    steps=4,
    buffer_size=16,
    optimizer="adam",
    lr=1e-3,
    checkpoint_every=2,
    sample_every=4,
    log_every=1,
    diag_n=48,
    probe_steps=SMALL_PROBE_STEPS,
)


@functools.lru_cache(maxsize=2)
def _render(domain: str, n: int = 96, seed: int = 0) -> dict:
    from benchmarks.datasets.demo import render_domain

    return render_domain(domain, n, seed=seed)


@pytest.fixture(scope="session")
def tiny_refiner_settings() -> dict:
    """The tiny refiner's RefinerConfig fields (a copy: tests may change it)."""
    return dict(TINY_REFINER)


@pytest.fixture(scope="session")
def tiny_config():
    """A factory: tiny_config(**changes) -> the tiny RefinerConfig with changes."""
    from refine.config import RefinerConfig

    return lambda **changes: RefinerConfig(**{**TINY_REFINER, **changes})


@pytest.fixture(scope="session")
def demo():
    """A factory: demo(domain, n=96, seed=0) -> a rendered demo domain (cached)."""
    return _render


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks lose more to thread synchronisation than they gain (badly so on a shared
    machine): run a module's tests on one thread, then restore the setting. Opt in per module
    with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_probe():
    """Train the diagnostics' frozen gaze probe for SMALL_PROBE_STEPS steps, not 600, in this
    module. `bench run` gives every registry refiner (identity, histmatch, plug-ins) the
    600-step probe whatever its profile says, at about 0.1 s a step: one probe a seed was most of
    a pipeline test's time. For tests whose runs need the diagnostics to run, not to be good; the
    probe's own tests train it at full size. Opt in per module with
    ``pytestmark = pytest.mark.usefixtures("small_probe")``."""
    import dataclasses

    from refine import labelcheck
    from refine.probe import ProbeSpec

    full = labelcheck.fit_gaze_probe

    def fit_gaze_probe(images, gaze_pitchyaw_rad, head_pitchyaw_rad, spec=None):
        spec = spec or ProbeSpec()
        small = dataclasses.replace(spec, steps=min(spec.steps, SMALL_PROBE_STEPS))
        return full(images, gaze_pitchyaw_rad, head_pitchyaw_rad, small)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(labelcheck, "fit_gaze_probe", fit_gaze_probe)
        yield


# --- Small suites and profiles for `bench run` -----------------------------------------------
# Written once here; a test module states only what is particular to it (its rows, its sizes).

# The Table-1 shaped rows of the mean (dummy) estimator: milliseconds to fit, so the pipeline
# tests time the pipeline, not an estimator.
MEAN_ROWS = {
    "mean-lab": dict(label="Mean gaze (lab)", method="mean", train="real-lab", rs="R",
                     paper_err_deg=16.0),
    "mean-synthetic": dict(label="Mean gaze (synthetic)", method="mean", train="synthetic", rs="S"),
    "mean-refined": dict(label="Mean gaze (refined)", method="mean", train="refined", rs="S",
                         paper_err_deg=7.8, paper_within7_pct=69.4),
}  # fmt: skip
MEAN_SUITE = tuple(MEAN_ROWS)
IDENTITY = {"kind": "identity"}
DEMO_KEYS = ("n_sim", "n_lab", "n_wild", "n_test")
REPO = Path(__file__).resolve().parent.parent


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for the plain text used here
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)  # int, float


def toml_text(doc: dict) -> str:
    """A TOML document: a dict value of the top level is a table (its own dict values
    sub-tables, ``[estimators.rf]``), a list of dicts an array of tables (``[[rows]]``, whose
    dict values are inline tables)."""
    lines: list[str] = []

    def table(name: str, body: dict) -> None:
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in body.items() if not isinstance(v, dict))
        for k, v in body.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for name, body in doc.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{name}]]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items())
        else:
            table(name, body)
    return "\n".join(lines) + "\n"


def suite_toml(rows, name: str = "tiny", **suite) -> str:
    """A suite of ``rows``: each an id of MEAN_ROWS, a tuple (id, method, train[, rs]) labelled
    by its id (rs "S" unless given), or a dict of row keys (over MEAN_ROWS's row of its id)."""

    def row(r) -> dict:
        if isinstance(r, str):
            return {"id": r, **MEAN_ROWS[r]}
        if isinstance(r, tuple):
            row_id, method, train, *rs = r
            return dict(
                id=row_id, label=row_id, method=method, train=train, rs=rs[0] if rs else "S"
            )
        return {"id": r["id"], **MEAN_ROWS.get(r["id"], {}), **r}

    return toml_text(
        {"suite": {"name": name, "title": name, **suite}, "rows": [row(r) for r in rows]}
    )


def profile_toml(
    name: str = "tiny",
    *,
    seeds: int = 1,
    demo: tuple[int, int, int, int] | None = (200, 100, 200, 60),
    n_train: int = 100,
    refiner: dict | None = IDENTITY,
    **tables,
) -> str:
    """A profile: ``demo`` = (n_sim, n_lab, n_wild, n_test) or None (no [demo]); ``refiner``:
    the [refiner] table or None; ``tables``: more tables, e.g. estimators={"rf": {...}}."""
    doc: dict = {"profile": {"name": name, "seeds": seeds}}
    if demo is not None:
        doc["demo"] = dict(zip(DEMO_KEYS, demo, strict=True))
    doc["train"] = {"n_train": n_train}
    if refiner is not None:
        doc["refiner"] = dict(refiner)
    return toml_text({**doc, **tables})


class TinyBench:
    """A folder holding suite.toml and profile.toml, and `bench run` over them; ``bench / "res"``
    is a path in the folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.suite = self.root / "suite.toml"
        self.profile = self.root / "profile.toml"

    def __truediv__(self, name) -> Path:
        return self.root / name

    def write(self, rows=None, profile: dict | None = None, **suite) -> TinyBench:
        """Write the suite of ``rows`` (suite_toml's) and/or the profile of ``profile``
        (profile_toml's keyword arguments); what is not given is left as it is."""
        if rows is not None:
            self.suite.write_text(suite_toml(rows, **{"name": "tiny", **suite}))
        if profile is not None:
            self.profile.write_text(profile_toml(**profile))
        return self

    def args(self, *extra, work="work", results="res") -> list[str]:
        """`bench run` arguments: this suite and profile, --work and --results in the folder
        (work=None: no --work), --quiet, then ``extra``."""
        args = ["run", str(self.suite), "--profile", str(self.profile)]
        if work is not None:
            args += ["--work", str(self.root / work)]
        return [*args, "--results", str(self.root / results), "--quiet", *extra]

    def run(self, *extra, work="work", results="res", env=None):
        """`bench run` in this process (click's CliRunner): its Result."""
        from click.testing import CliRunner

        from benchmarks.cli import main

        return CliRunner().invoke(main, self.args(*extra, work=work, results=results), env=env)

    def command(self, *extra, work="work", results="res") -> list[str]:
        """`bench run` as the argv of a process of its own."""
        return [
            sys.executable, "-m", "benchmarks.cli", *self.args(*extra, work=work, results=results)
        ]  # fmt: skip

    def popen(self, *extra, work="work", results="res", **popen) -> subprocess.Popen:
        """`bench run` in a process of its own (for kills and concurrent runs), on one OpenMP
        thread and this checkout's packages; ``popen``: more subprocess.Popen arguments."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        argv = self.command(*extra, work=work, results=results)
        return subprocess.Popen(argv, cwd=REPO, env=env, **popen)

    def process(self, *extra, work="work", results="res", timeout=900):
        """popen() run to its end: (returncode, stdout, stderr) as text."""
        proc = self.popen(*extra, work=work, results=results, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            proc.kill()
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="session")
def tiny_bench():
    """A factory: tiny_bench(root, rows, profile, **suite) -> a TinyBench in ``root`` with its
    suite.toml and profile.toml written (see TinyBench.write). Session-scoped, so a module's
    fixture can share one run among its tests."""
    return lambda root, rows=MEAN_SUITE, profile=None, **suite: TinyBench(root).write(
        rows, profile if profile is not None else {}, **suite
    )


# --- Real-format dataset fixtures (the readers' tests and the real-data pipeline tests) -------

D = np.radians
MPII_GAZE_LEFT = np.array([-np.sin(D(30)), 0.0, -np.cos(D(30))])  # yaw +30 deg (image left)
MPII_GAZE_RIGHT = np.array([0.0, -np.sin(D(10)), -np.cos(D(10))])  # pitch +10 deg (up)
MPII_POSE = np.array([0.0, D(20), 0.0])  # head turned about y: forward axis yaw +20 deg


def _mpii_side(n, base, gaze):
    """``n`` images: a left-to-right ramp plus an id value at [0, 0]; identical labels."""
    img = np.tile(np.linspace(0, 200, 60).astype(np.uint8), (n, 36, 1))
    img[:, 0, 0] = base + np.arange(n)
    return {"image": img, "gaze": np.tile(gaze, (n, 1)), "pose": np.tile(MPII_POSE, (n, 1))}


def write_mpiigaze_day(path, n, base=0, **override):
    """A MATLAB v5 day file of ``n`` images per eye (left ids from base, right from base+100);
    ``override``: side_field=value, e.g. left_image=..., left_gaze=..."""
    import scipy.io

    data = {
        "left": _mpii_side(n, base, MPII_GAZE_LEFT),
        "right": _mpii_side(n, base + 100, MPII_GAZE_RIGHT),
    }
    for key, value in override.items():
        s, field = key.split("_")
        data[s][field] = value
    names = np.array([[f"{k + 1:04d}.jpg"] for k in range(n)], dtype=object)  # a cell array
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"data": data, "filenames": names})


def make_mpiigaze_root(tmp_path) -> Path:
    """A tiny MPIIGaze: p00 (3 + 1 images a day, the second a single-image day), p03 (2), and
    an Evaluation Subset of three lines."""
    from benchmarks.datasets.mpiigaze import EVAL_DIR, NORMALIZED_DIR

    root = tmp_path / "MPIIGaze"
    norm = root / NORMALIZED_DIR
    write_mpiigaze_day(norm / "p00" / "day01.mat", 3, base=10)
    write_mpiigaze_day(norm / "p00" / "day02.mat", 1, base=20)  # a single-image day
    write_mpiigaze_day(norm / "p03" / "day01.mat", 2, base=30)
    lists = root / EVAL_DIR
    lists.mkdir(parents=True)
    (lists / "p00.txt").write_text("day01/0002.jpg left\nday02/0001.jpg right\n")
    (lists / "p03.txt").write_text("day01/0001.jpg right\n")
    return root


UT_GAZE = [-np.sin(D(30)), 0.0, -np.cos(D(30))]  # yaw +30 deg
UT_HEAD = [0.0, D(20), 0.0]  # head yaw +20 deg
UT_TRANSLATION = [10.0, -5.0, 600.0]
UT_CSV_ROW = ",".join(f"{v:.6f}" for v in UT_GAZE + UT_HEAD + UT_TRANSLATION)


def _ut_patch(value):
    """A 36x60 patch: a left-to-right ramp with ``value`` at [0, 0] to identify it."""
    img = np.tile(np.linspace(0, 200, 60).astype(np.uint8), (36, 1))
    img[0, 0] = value
    return img


def write_utmultiview_pair(folder, target, side, values, csv_lines=None, shape=(36, 60)):
    """NNN_side.csv (one 9-column line an image unless ``csv_lines``) and NNN_side.zip of
    %08d.bmp patches identified by ``values`` (zeros where ``shape`` is not 36x60)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{target:03d}_{side}"
    lines = csv_lines or [UT_CSV_ROW] * len(values)
    stem.with_suffix(".csv").write_text("\n".join(lines) + "\n")
    with zipfile.ZipFile(stem.with_suffix(".zip"), "w") as zf:
        for k, v in enumerate(values):
            img = _ut_patch(v) if shape == (36, 60) else np.zeros(shape, np.uint8)
            zf.writestr(f"{k:08d}.bmp", cv2.imencode(".bmp", img)[1].tobytes())


def make_utmultiview_root(tmp_path) -> Path:
    """A tiny UT Multiview: s00 and s07, each 2 + 2 test and 3 + 3 synth patches."""
    root = tmp_path / "UTMultiview"
    for person, base in (("s00", 0), ("s07", 100)):
        write_utmultiview_pair(root / person / "test", 0, "left", [base + 1, base + 2])
        write_utmultiview_pair(root / person / "test", 0, "right", [base + 3, base + 4])
        write_utmultiview_pair(
            root / person / "synth", 0, "left", [base + 11, base + 12, base + 13]
        )
        write_utmultiview_pair(
            root / person / "synth", 0, "right", [base + 14, base + 15, base + 16]
        )
    return root


@pytest.fixture(scope="session")
def mpiigaze_files():
    """The MPIIGaze fixture writer: .write_day(path, n, base=0, **override), .root(folder) -> a
    tiny MPIIGaze root in folder, .gaze_left (the left eyes' 3-D gaze vector)."""
    return SimpleNamespace(
        write_day=write_mpiigaze_day, root=make_mpiigaze_root, gaze_left=MPII_GAZE_LEFT
    )


@pytest.fixture(scope="session")
def utmultiview_files():
    """The UT Multiview fixture writer: .write_pair(folder, target, side, values, csv_lines=None,
    shape=(36, 60)), .root(folder) -> a tiny UT Multiview root in folder, .csv_row (a good line)."""
    return SimpleNamespace(
        write_pair=write_utmultiview_pair, root=make_utmultiview_root, csv_row=UT_CSV_ROW
    )


@pytest.fixture()
def real_bench(tmp_path, tiny_bench, monkeypatch):
    """A TinyBench in tmp_path: the mean rows on a profile without [demo] (n_train 100, the
    identity refiner), and .mpiigaze, .utmultiview, .unityeyes: the roots of tiny datasets in
    the real on-disk formats (no GAZEBENCH_* root variable left set)."""
    from benchmarks.datasets.unityeyes_synth import write_unityeyes_folder

    for env in ("GAZEBENCH_MPIIGAZE", "GAZEBENCH_UNITYEYES", "GAZEBENCH_UTMULTIVIEW"):
        monkeypatch.delenv(env, raising=False)
    bench = tiny_bench(tmp_path, profile=dict(name="tiny-real", demo=None))
    bench.mpiigaze = make_mpiigaze_root(tmp_path)
    bench.utmultiview = make_utmultiview_root(tmp_path)
    bench.unityeyes = tmp_path / "UnityEyes"
    write_unityeyes_folder(bench.unityeyes, 12)
    return bench

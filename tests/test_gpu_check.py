"""scripts/gpu-check.sh's paper-pilot stages (the settings sweep and `bench pilot`) run on CPU at
toy size, so the GPU check cannot rot unseen on machines without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import profile_toml

REPO = Path(__file__).resolve().parent.parent
TOY_R = dict(
    refiner_width=8, refiner_blocks=1, disc_widths=[8, 8, 8, 8], batch_size=8, pretrain_r_steps=2,
    pretrain_d_steps=2, steps=4, buffer_size=16, diag_n=40, probe_steps=20, log_every=1,
    sample_every=4, checkpoint_every=4,
)  # fmt: skip


@pytest.mark.slow
def test_gpu_check_runs_the_sweep_and_the_paper_pilot_on_cpu_at_toy_size(tmp_path):
    prof = tmp_path / "toy.toml"
    refiner = {"kind": "simgan", **TOY_R, "grad_clip_norm": 50.0, "refiner_residual": True}
    cnn = {"cnn": {"train_samples": 64, "batch_size": 32}}
    prof.write_text(profile_toml("toy", refiner=refiner, estimators=cnn))
    sets = " ".join(f"--set {k}={json.dumps(v, separators=(',', ':'))}" for k, v in TOY_R.items())
    env = {
        **os.environ, "OUT": str(tmp_path / "out"), "GPU_CHECK_DEVICE": "cpu",
        "GPU_CHECK_STAGES": "sweep,pilot", "GPU_CHECK_PILOT_PROFILE": str(prof),
        "GPU_CHECK_SWEEP_ARGS": f"--only paper --images 96,64 --set select_n=32 {sets}",
        "GPU_CHECK_LIMIT_SCALE": "20", "OMP_NUM_THREADS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }  # fmt: skip
    p = subprocess.run(
        ["bash", "scripts/gpu-check.sh"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=1200,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = tmp_path / "out"
    report = json.loads((out / "gpu-check.json").read_text())
    assert [s["stage"] for s in report["stages"]] == ["refiner-sweep", "paper-pilot"]
    assert all(s["rc"] == 0 for s in report["stages"])
    assert [r["name"] for r in report["refiner_sweep"]] == ["paper"]
    assert report["refiner_sweep"][0]["status"] == "done"
    assert report["numerics"]["device"] == "cpu"
    md = (out / "pilot" / "pilot.md").read_text()
    assert md.startswith("# Refiner pilot: `toy` profile, refiner `simgan`, 1 seed")
    assert f"bench pilot --profile {prof} --device cpu --quiet" in md  # the command, quoted
    assert "| batch_size | 8 (scaled) | 512 |" in md and "| 0 | " in md
    assert "Departures from the paper's method: residual R" in md
    rows = [json.loads(s) for s in (out / "pilot" / "rows.jsonl").read_text().splitlines()]
    assert sorted(r["row_id"] for r in rows) == ["cnn-refined", "cnn-synthetic"]
    assert {r["eval_split"] for r in rows} == {"dev"}  # never the test people
    criteria = report["paper_pilot"]["criteria"]
    assert len(criteria) == 3 and criteria[0].startswith("labels kept")
    assert not (out / "pilot" / "preds").exists()

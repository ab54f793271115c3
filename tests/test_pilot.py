"""`bench pilot` and its report: a refiner profile judged on the development people by the
pilot's three criteria (labels kept, realism gap closed, refined beats synthetic)."""

from __future__ import annotations

import json

import pytest

from benchmarks.records.rows import append_row
from benchmarks.reporting.pilot import pilot_markdown, pilot_runs
from refine.config import RefinerConfig


def _row(row_id: str, seed: int, err: float) -> dict:
    return {
        "schema": "gazebench.result/1", "suite": "table1", "row_id": row_id, "method": "cnn",
        "train_source": "x", "test_source": "t", "seed": seed, "n_train": 1, "n_test": 1,
        "err_mean_deg": err, "err_median_deg": err, "err_std_deg": 0.0, "within_7deg_pct": 0.0,
        "fit_s": 0.0, "predict_s": 0.0, "data_mode": "demo", "eval_split": "dev",
        "provenance": {"git_sha": "abcdef0123456789", "git_dirty": True},
    }  # fmt: skip


def _pilot_dir(tmp_path, cases):
    d = tmp_path / "res"
    for seed, (syn, ref, ratio, gap) in cases.items():
        append_row(d, _row("cnn-synthetic", seed, syn))
        append_row(d, _row("cnn-refined", seed, ref))
        r = d / "refiner" / f"seed{seed}"
        r.mkdir(parents=True)
        diag = {"label_ratio_no_refit": ratio, "realism_gap_closed": gap, "mean_abs_diff_grey": 3.0}
        (r / "diagnostics.json").write_text(json.dumps(diag))
        done = {
            "wall_s": 100.0,
            "config_hash": "sha256:ab",
            "numerics": {"precision": "fp32", "device": "cpu"},
        }
        (r / "complete.json").write_text(json.dumps(done))
    return d


def test_the_report_judges_every_seed_and_marks_what_the_pilot_scales(tmp_path):
    d = _pilot_dir(tmp_path, {0: (10.0, 8.0, 1.04, 0.31), 1: (10.0, 9.0, 1.12, 0.25)})
    runs = pilot_runs(d, 2)
    assert [r["gain_pct"] for r in runs] == pytest.approx([20.0, 10.0])
    assert runs[0]["refiner_wall_s"] == 100.0 and runs[0]["git_dirty"] is True
    paper = RefinerConfig().to_dict()
    pilot = RefinerConfig(batch_size=8, steps=300, grad_clip_norm=50.0).to_dict()
    md = pilot_markdown(runs, "t", "bench pilot --seeds 2", pilot, paper, ["residual R"])
    assert "| batch_size | 8 (scaled) | 512 |" in md  # a size the CPU shrinks
    assert "| grad_clip_norm | 50.0 **(changed)** | 0.0 |" in md  # a setting of the method
    assert (
        "| lr | 0.001 | 0.001 |" in md and "Departures from the paper's method: residual R." in md
    )
    assert "| 0 | 2 | 10.00 | 8.00 | +20.0 % | 1.040 | 31% | 3.0 | 100 |" in md
    assert "(no-refit ratio <= 1.1): **no**" in md  # seed 1's 1.12
    assert "real-vs-synthetic gap: yes" in md  # 31 % and 25 %
    assert "beats the CNN trained on the synthetic ones: yes" in md
    assert "abcdef0123 (dirty)" in md and "bench pilot --seeds 2" in md
    assert "device cpu, precision fp32, torch threads 2;" in md  # as resolved, not "auto"
    d2 = _pilot_dir(tmp_path / "b", {0: (10.0, 10.5, 1.0, 0.1)})
    md = pilot_markdown(pilot_runs(d2, 2), "t", "c", pilot, paper, [])
    assert "gap: **no**" in md and "synthetic ones: **no**" in md
    assert "none (the paper's method, at the sizes below)" in md


def test_a_bad_profile_is_one_line_naming_it(tmp_path):
    from click.testing import CliRunner

    from benchmarks.cli import main

    r = CliRunner().invoke(main, ["pilot", "--profile", str(tmp_path / "nope.toml")])
    assert r.exit_code == 2 and "nope.toml" in r.output and "Traceback" not in r.output


def test_the_paper_pilot_profiles_keep_the_papers_networks_and_optimiser():
    """paper-cpu and paper-gpu change the settings the paper leaves open, the sizes and the named
    departures: R, D, SGD at lr 0.001 and the summed losses stay the paper profile's."""
    from benchmarks.pipeline.refiner_stage import simgan_variant_config
    from benchmarks.pipeline.suite import load_profile

    paper = simgan_variant_config("simgan", load_profile("paper"), 0, "cpu")
    for name in ("paper-cpu", "paper-gpu"):
        cfg = simgan_variant_config("simgan", load_profile(name), 0, "cpu")
        for key in ("refiner_width", "refiner_blocks", "disc_widths", "optimizer", "lr",
                    "loss_reduction", "kg", "kd", "refiner_padding"):  # fmt: skip
            assert getattr(cfg, key) == getattr(paper, key), (name, key)
    gpu = simgan_variant_config("simgan", load_profile("paper-gpu"), 0, "cpu")
    assert gpu.batch_size == paper.batch_size == 512

"""`bench refine summary`: a finished refiner run's report says what ran and whether it worked."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.reporting.refiner_run import refiner_run_markdown, verdict
from estimators.base import MissingFileError
from refine.config import RefinerConfig


def _fake_run(run_dir, refit_deg: float, gap: float):
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(RefinerConfig(steps=7).to_dict()))
    (run_dir / "run.json").write_text(json.dumps({"numerics": {"precision": "fp32"}}))
    (run_dir / "complete.json").write_text(json.dumps({"wall_s": 12.3, "steps": 7}))
    diag = {
        "realism_acc_real_vs_synthetic": 0.98,
        "realism_acc_real_vs_refined": 0.98 - gap * 0.48,
        "realism_gap_closed": gap,
        "mean_abs_diff_grey": 9.5,
        "gaze_err_deg_on_x": 10.0,
        "gaze_err_deg_refit_on_refined": refit_deg,
    }
    (run_dir / "diagnostics.json").write_text(json.dumps(diag))
    rows = "step,loss_r,loss_r_adv,loss_r_reg,loss_d,d_acc_real,d_acc_refined,wall_s\n"
    rows += "".join(f"{s},1,{s / 10},0.5,1.3,0.6,0.6,{s}\n" for s in range(1, 21))
    (run_dir / "losses.csv").write_text(rows)
    return run_dir


def test_report_states_settings_losses_and_verdict(tmp_path):
    run = _fake_run(tmp_path / "good", refit_deg=10.5, gap=0.25)
    text = refiner_run_markdown(run, command="bench refine train --x")
    assert "| loss_reduction | sum |" in text and "| steps | 7 |" in text
    assert "bench refine train --x" in text
    assert "gap closed 25.0 % — closes" in text
    assert "ratio 1.050" in text and "— kept" in text
    # 8 evenly spaced rows of the 20 logged, first and last included
    assert "| 1 | 0.1 |" in text and "| 20 | 2.0 |" in text
    assert "| grad_clip_norm | 0.0 |" in text  # off, the paper's
    assert text.count("\n| ") - text.count("| setting") == 8 + 1 + 15  # losses + header + settings
    assert "During training" not in text  # no snapshot scores in this run


def test_snapshot_scores_show_the_gap_closed_when_the_run_logged_it(tmp_path):
    run = _fake_run(tmp_path / "r", 10.0, 0.1)
    scores = [
        {"step": 200, "realism_acc": 0.9, "realism_gap_closed": 0.2, "label_ratio": 1.01,
         "abs_diff_grey": 3.0},
        {"step": 300, "realism_acc": 0.8, "label_ratio": 1.2, "abs_diff_grey": 5.0},  # older run
    ]  # fmt: skip
    (run / "selection.json").write_text(json.dumps({"selected_step": 200, "scores": scores}))
    text = refiner_run_markdown(run)
    assert "| 200 | 0.900 | 20.0 % | 1.010 | 3.0 |" in text
    assert "| 300 | 0.800 | – | 1.200 | 5.0 |" in text and "Kept: step 200." in text


def test_verdict_flags_lost_labels_and_an_open_gap(tmp_path):
    v = verdict(
        json.loads((_fake_run(tmp_path / "r", 11.6, -0.1) / "diagnostics.json").read_text())
    )
    assert v["label_ratio"] == pytest.approx(1.16)
    assert not v["labels_kept"] and not v["gap_closes"]


def test_cli_writes_the_file_and_a_missing_run_is_one_line(tmp_path):
    run = _fake_run(tmp_path / "r", 10.0, 0.1)
    out = tmp_path / "rep" / "pilot.md"
    res = CliRunner().invoke(main, ["refine", "summary", "--run", str(run), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text() == refiner_run_markdown(run)
    (run / "diagnostics.json").unlink()
    res = CliRunner().invoke(main, ["refine", "summary", "--run", str(run)])
    assert res.exit_code == 2 and "diagnostics.json: missing" in res.output
    with pytest.raises(MissingFileError):
        refiner_run_markdown(tmp_path / "nothing")

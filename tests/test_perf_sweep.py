"""benchmarks/perf/sweep.py, the settings sweep (scripts/gpu-check.sh's stage) at toy size on CPU:
every setting gets its refiner-run report and a JSON row with the label ratio and realism logged
at every snapshot, so the GPU stage cannot rot unseen on machines without a GPU."""

from __future__ import annotations

import json

import pytest

from benchmarks.perf import sweep

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# the paper networks and sizes shrunk to seconds; select_every 2 stands in for the GPU's 100
TOY = dict(
    refiner_width=8, refiner_blocks=1, disc_widths=[8, 8, 8, 8], batch_size=8,
    pretrain_r_steps=2, pretrain_d_steps=2, steps=4, buffer_size=16, select_every=2, select_n=32,
    diag_n=40, probe_steps=20, log_every=1, sample_every=2, precision="fp32",
)  # fmt: skip
SETTINGS = (("paper", {}), ("clip", {"grad_clip_norm": 1.0}))


def _rows(out):
    return [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]


def test_the_default_sweep_is_the_paper_config_and_the_candidates_at_batch_512():
    names = [name for name, _ in sweep.SWEEP_SETTINGS]
    assert names[0] == "paper" and dict(sweep.SWEEP_SETTINGS)["paper"] == {}
    # every candidate but the reference clips; the departures are named in the setting's name
    for name, o in sweep.SWEEP_SETTINGS[1:]:
        assert o["grad_clip_norm"] == 50.0, name
        assert ("lit" in name) == bool(o.get("input_light")), name
        assert ("residual" in name or "light" in name or "lit" in name) == bool(
            o.get("refiner_residual")
        ), name
    # the paper-cpu pilot's chosen settings are one of the swept ones, the one gpu-check ends on
    from benchmarks.pipeline.refiner_stage import simgan_variant_config
    from benchmarks.pipeline.suite import load_profile

    def key(cfg):
        return tuple(getattr(cfg, f) for f in ("lambda_reg", "grad_clip_norm", "refiner_residual",
                     "input_light", "input_hw", "gaze_consistency"))  # fmt: skip

    chosen = key(simgan_variant_config("simgan", load_profile("paper-cpu"), 0, "cuda"))
    swept = {name: key(sweep.sweep_config(o, None, "cuda")) for name, o in sweep.SWEEP_SETTINGS}
    assert chosen in swept.values()
    assert sweep.GPU_SWEEP[0] == "paper" and swept[sweep.GPU_SWEEP[-1]] == chosen
    cfg = sweep.sweep_config({}, None, "cuda")
    assert (cfg.batch_size, cfg.refiner_width, cfg.refiner_blocks) == (512, 64, 4)
    assert cfg.disc_widths == (96, 64, 32, 32) and cfg.optimizer == "sgd"
    assert cfg.select_every == 100 and cfg.steps % 100 == 0  # a snapshot every 100 steps


def test_sweep_writes_each_settings_report_and_per_snapshot_rows(tmp_path):
    out = tmp_path / "out"
    rows = sweep.refiner_sweep(
        out, "cpu", settings=SETTINGS, run=TOY, images=(96, 64), work=tmp_path / "work"
    )
    assert rows == _rows(out) and [r["name"] for r in rows] == ["paper", "clip"]
    for r in rows:
        assert r["status"] == "done", r
        # a snapshot every 2 adversarial steps (after 4 pretraining steps), the last one included
        assert [s["adversarial_step"] for s in r["snapshots"]] == [2, 4]
        assert [s["step"] for s in r["snapshots"]] == [6, 8]
        for s in r["snapshots"]:
            assert s["label_ratio"] > 0 and s["realism_gap_closed"] <= 1.0
        assert r["kept"]["label_ratio_no_refit"] > 0 and r["selected_step"] in (6, 8)
        text = (out / r["report"]).read_text()  # `bench refine summary`'s report
        assert text.startswith(f"# Refiner run `{r['name']}`")
        assert "During training" in text and "realism gap closed" in text
        # the command that reruns this setting, quoted
        assert (
            f"python -m benchmarks.perf.pilot OUT --sweep --device cpu --only {r['name']} " in text
        )
        assert (out / r["samples"]).read_bytes()[:4] == b"\x89PNG"
    assert "| grad_clip_norm | 1.0 |" in (out / "clip.md").read_text()
    assert "| grad_clip_norm | 0.0 |" in (out / "paper.md").read_text()
    assert rows[0]["config_hash"] != rows[1]["config_hash"]
    table = (out / "sweep.md").read_text()
    assert "| paper | (paper) | done |" in table and "| clip | grad_clip_norm=1.0 | done |" in table
    assert "adv. step 2: ratio, gap | adv. step 4: ratio, gap" in table


def test_a_deadline_skips_what_has_not_started_and_keeps_the_rows(tmp_path):
    out = tmp_path / "out"
    rows = sweep.refiner_sweep(
        out, "cpu", settings=SETTINGS, run=TOY, images=(96, 64), deadline_s=0.0
    )
    assert [r["status"] for r in rows] == ["skipped: past the deadline"] * 2
    assert all(r["snapshots"] == [] for r in rows) and _rows(out) == rows
    with pytest.raises(Exception, match="grad_clip_norm must be >= 0"):
        sweep.refiner_sweep(out, "cpu", settings=(("bad", {"grad_clip_norm": -1.0}),), run=TOY)


def test_settings_in_parallel_processes_write_the_same_rows(tmp_path):
    """The CUDA path: one spawned process a setting (here two, on CPU)."""
    out = tmp_path / "out"
    rows = sweep.refiner_sweep(out, "cpu", settings=SETTINGS, run=TOY, images=(96, 64), jobs=2)
    assert [r["status"] for r in rows] == ["done", "done"], rows
    assert all([s["adversarial_step"] for s in r["snapshots"]] == [2, 4] for r in rows)
    assert (out / "paper.md").is_file() and (out / "clip.md").is_file()


def test_a_setting_still_training_at_the_deadline_is_stopped_and_keeps_a_row(tmp_path):
    slow = (("slow", {"steps": 1_000_000}),)  # would train for hours
    work = tmp_path / "work"
    rows = sweep.refiner_sweep(
        tmp_path / "out", "cpu", settings=slow, run=TOY, images=(96, 64), jobs=2,
        deadline_s=8.0, work=work,
    )  # fmt: skip
    assert rows[0]["status"] == "stopped at the deadline"
    scores = work / "slow.scores.jsonl"  # whatever it logged before the stop is in its row
    logged = (
        [json.loads(line) for line in scores.read_text().splitlines()] if scores.exists() else []
    )
    assert rows[0]["snapshots"] == logged
    assert (
        "| slow | steps=1000000 | stopped at the deadline |"
        in (tmp_path / "out" / "sweep.md").read_text()
    )


def test_the_pilot_command_sizes_a_cpu_sweep_and_says_so_in_its_reports(tmp_path, capsys):
    """--set / --only / --images reach every setting's config and the quoted command reruns it."""
    from benchmarks.perf import pilot

    out = tmp_path / "out"
    sets = [f"--set={k}={json.dumps(v, separators=(',', ':'))}" for k, v in TOY.items()]
    with pytest.raises(SystemExit) as done:
        pilot.main([str(out), "--sweep", "--device", "cpu", "--only", "clip50",
                    "--images", "96,64", *sets])  # fmt: skip
    assert done.value.code == 0
    (row,) = _rows(out)
    assert row["name"] == "clip50" and row["status"] == "done"
    text = (out / "clip50.md").read_text()
    assert "| grad_clip_norm | 50.0 |" in text and "| batch_size | 8 |" in text
    assert "--only clip50 --images 96,64 --set refiner_width=8" in text
    assert "--set disc_widths=[8,8,8,8]" in text
    for bad, says in [(["--only", "nope"], "no setting nope"), (["--images", "9"], "N_SIM,N_REAL")]:
        with pytest.raises(SystemExit) as err:
            pilot.main([str(out), "--sweep", "--device", "cpu", *bad])
        assert err.value.code == 2 and says in capsys.readouterr().err

"""simgan-lit: SimGAN with refine.config.LIT_RECIPE's departures, registered beside the paper's
simgan. A profile's [refiner] kind makes it what bare ``refined`` rows train on; both run from
one [refiner] config in their own run directories, and a row says which departures its SimGAN
has. Tiny sizes: well under a minute."""

from __future__ import annotations

import json

import pytest

from benchmarks.records.rows import read_rows
from refine.config import LIT_RECIPE, RefinerConfig, departures
from refine.registry import create_refiner, list_refiners
from refine.simgan import simgan_config

pytestmark = pytest.mark.usefixtures("small_probe", "one_torch_thread")

NAMED = "real-pool light on R's inputs, residual R, gaze consistency, 36x60 input"


def test_departures_are_named_and_the_paper_has_none():
    assert departures(RefinerConfig()) == []
    for preset in ("smoke", "quick"):
        assert departures(RefinerConfig.preset(preset)) == []
    lit = RefinerConfig.preset("quick").replace(**LIT_RECIPE)
    assert ", ".join(departures(lit)) == NAMED
    assert departures(RefinerConfig(refiner_noise=2, match_real_gaze=True)) == [
        "gaze-matched batches",
        "noise inputs",
    ]


def test_simgan_lit_is_registered_and_adds_the_recipe_to_any_config():
    assert {"simgan", "simgan-lit"} <= set(list_refiners())
    lit = create_refiner("simgan-lit", config={"preset": "smoke", "steps": 7})
    cfg = simgan_config(lit.config, lit=type(lit).LIT)
    assert cfg.steps == 7 and cfg.input_light and cfg.refiner_residual
    assert cfg.input_hw == (36, 60) and cfg.gaze_consistency == 1.0
    paper = create_refiner("simgan", config={"preset": "smoke"})
    assert not simgan_config(paper.config, lit=type(paper).LIT).input_light


TINY_LIT = {
    "kind": "simgan-lit",
    "refiner_width": 8,
    "refiner_blocks": 1,
    "disc_widths": [8, 8, 8, 8],
    "batch_size": 8,
    "pretrain_r_steps": 2,
    "pretrain_d_steps": 2,
    "steps": 4,
    "buffer_size": 16,
    "optimizer": "adam",
    "lr": 1e-3,
    "checkpoint_every": 4,
    "sample_every": 4,
    "log_every": 1,
    "diag_n": 48,
    "gaze_consistency_steps": 10,
    "loss_reduction": "mean",
}


def test_a_profile_runs_both_simgans_and_rows_name_the_departures(tmp_path, tiny_bench):
    rows = [("lit", "mean", "refined"), ("paper", "mean", "refined:simgan")]
    bench = tiny_bench(tmp_path, rows, {"refiner": TINY_LIT, "demo": (120, 60, 120, 60)})
    result = bench.run("--device", "cpu")
    assert result.exit_code == 0, result.output
    by_id = {r["row_id"]: r for r in read_rows(bench / "res")}
    assert by_id["lit"]["label"] == f"lit (SimGAN departures: {NAMED})"
    assert by_id["paper"]["label"] == "paper"  # the paper's method: nothing to name
    assert by_id["lit"]["refiner"] == "simgan-lit" and by_id["paper"]["refiner"] == "simgan"
    # two runs, one config each: the departures are fields of the config, so of the key
    configs = {
        p.parent.name: json.loads(p.read_text())
        for p in (bench / "work" / "refiner").glob("*/config.json")
    }
    assert sorted(c["input_light"] for c in configs.values()) == [False, True]
    assert all(c["steps"] == 4 for c in configs.values())  # one [refiner] config for both
    # the rows trained on different stores, and RESULTS/refiner/ holds the kind's own run
    assert by_id["lit"]["train_dataset"] != by_id["paper"]["train_dataset"]
    table_run = json.loads((bench / "res" / "refiner" / "seed0" / "config.json").read_text())
    assert table_run["input_light"] is True
    for name in ("simgan", "simgan-lit"):
        assert (bench / "res" / "refiners" / name / "seed0" / "fit.json").is_file()

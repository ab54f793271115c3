"""The refiner leaderboard layout and rows that name their refiner, on a tiny suite (the mean
estimator keeps it fast; refiners.toml itself is loaded and checked, not run)."""

from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.pipeline.suite import load_suite
from benchmarks.records.rows import read_rows

SUITE = """
[suite]
name = "tinyboard"
title = "Tiny refiner leaderboard"
report = "board"
layout = "leaderboard"
baseline = "identity"
[[rows]]
id = "rf-histmatch"
label = "RF, histmatch"
method = "rf"
train = "refined:histmatch"
rs = "S"
[[rows]]
id = "rf-identity"
label = "RF, identity"
method = "rf"
train = "refined:identity"
rs = "S"
[[rows]]
id = "rf-plain"
label = "RF, bare refined = the profile's kind"
method = "rf"
train = "refined"
rs = "S"
"""

PROFILE = """
[profile]
name = "tiny"
seeds = 2
[demo]
n_sim = 200
n_lab = 100
n_wild = 200
n_test = 120
[train]
n_train = 150
[refiner]
kind = "identity"
diag_n = 100
[estimators.rf]
n_estimators = 10
[refiners.histmatch]
strength = 0.5
"""


def test_refiners_suite_names_every_builtin_refiner():
    suite = load_suite("refiners")
    assert suite.layout == "leaderboard" and suite.report == "refiners"
    trains = {r.train for r in suite.rows}
    assert {f"refined:{n}" for n in ("identity", "histmatch", "degrade", "simgan")} == trains
    assert {r.method for r in suite.rows} == {"cnn", "knn"}


def test_leaderboard_pairs_each_row_with_its_identity_row(tmp_path):
    (tmp_path / "s.toml").write_text(SUITE)
    (tmp_path / "p.toml").write_text(PROFILE)
    args = ["run", str(tmp_path / "s.toml"), "--profile", str(tmp_path / "p.toml"), "--work",
            str(tmp_path / "w"), "--results", str(tmp_path / "r"), "--quiet"]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    # each refiner fitted once per seed, shared by the rows naming it (bare refined = identity)
    assert r.output.count("refiner identity: fitting") == 2
    assert r.output.count("refiner histmatch: fitting") == 2
    rows = read_rows(tmp_path / "r")
    by = {(x["row_id"], x["seed"]): x for x in rows}
    assert "refiner histmatch" in by["rf-histmatch", 0]["train_dataset"]
    assert by["rf-plain", 1]["err_mean_deg"] == by["rf-identity", 1]["err_mean_deg"]
    md = (tmp_path / "r" / "board.md").read_text()
    assert md.startswith("# Tiny refiner leaderboard")
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert lines[0].startswith("| refiner | estimator | error (deg) | 95% CI | Δ vs identity | p |")
    order = [ln.split("|")[1].strip() for ln in lines[1:4]]
    assert order == ["histmatch", "identity", "identity"]  # the suite's row order
    hist = lines[1].split("|")
    assert hist[5].strip().startswith(("+", "-")) and hist[8].strip() != "–"  # Δ and realism
    csv = (tmp_path / "r" / "board.csv").read_text().splitlines()
    assert "delta_vs_baseline_deg" in csv[0] and "refiner_fit_s" in csv[0] and len(csv) == 4
    assert not (tmp_path / "r" / "table1.md").exists()

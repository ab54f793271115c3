"""The refiner leaderboard layout and rows that name their refiner, on a tiny suite (the mean
estimator keeps it fast; refiners.toml itself is loaded and checked, not run)."""

import pytest

from benchmarks.pipeline.suite import load_suite
from benchmarks.records.rows import read_rows
from refine.registry import _REGISTRY

pytestmark = pytest.mark.usefixtures("small_probe")  # diagnostics that only need to run

ROWS = [  # (id, label, train): rf rows on the synthetic side
    ("rf-histmatch", "RF, histmatch", "refined:histmatch"),
    ("rf-identity", "RF, identity", "refined:identity"),
    ("rf-plain", "RF, bare refined = the profile's kind", "refined"),
]
SUITE = dict(name="tinyboard", title="Tiny refiner leaderboard", report="board",
             layout="leaderboard", baseline="identity")  # fmt: skip
PROFILE = dict(seeds=2, demo=(200, 100, 200, 120), n_train=150,  # conftest's profile_toml
               refiner={"kind": "identity", "diag_n": 100},
               estimators={"rf": {"n_estimators": 10}}, refiners={"histmatch": {"strength": 0.5}})  # fmt: skip


def test_refiners_suite_names_every_builtin_refiner():
    suite = load_suite("refiners")
    assert suite.layout == "leaderboard" and suite.report == "refiners"
    trains = {r.train for r in suite.rows}
    builtins = set(_REGISTRY)  # every built-in refiner, the paper's SimGAN and its departures
    assert {"identity", "histmatch", "lightmatch", "degrade", "simgan", "simgan-lit"} <= builtins
    assert {f"refined:{n}" for n in builtins} == trains
    assert {r.method for r in suite.rows} == {"cnn", "knn"}


def test_leaderboard_pairs_each_row_with_its_identity_row(tmp_path, tiny_bench):
    rows = [dict(id=i, label=label, method="rf", train=train, rs="S") for i, label, train in ROWS]
    r = tiny_bench(tmp_path, rows, PROFILE, **SUITE).run(results="r")
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

"""`bench select`: person-disjoint folds, the row fallback, the argmin, the files, the CLI errors.

Tiny planted data only (no demo renders): each test runs in well under a second or two.
"""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.datasets.store import write_store
from benchmarks.selection.folds import PERSON, ROWS, make_folds
from benchmarks.selection.grids import FULL, expand, pick_targets
from benchmarks.selection.search import ConfigResult, choose, find, search
from estimators.base import EyeData, UserError


def _planted(n: int, seed: int = 0, people: int | None = 12):
    """Noise images whose gaze *is* the head pose: only a head-aware kNN can predict it."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 36, 60), dtype=np.uint8)
    head = rng.uniform(-0.4, 0.4, (n, 2)).astype(np.float32)
    subject = rng.integers(0, people, n).astype(np.int32) if people else None
    return images, head, head.copy(), subject


def test_person_folds_never_share_a_subject():
    subject = np.random.default_rng(1).integers(0, 10, 200)
    folds = make_folds(subject, 200, 3, seed=0)
    assert folds.kind == PERSON and folds.n_people == 10 and len(folds.splits) == 3
    seen = np.concatenate([va for _, va in folds.splits])
    assert np.array_equal(np.sort(seen), np.arange(200))  # every row held out exactly once
    for tr, va in folds.splits:
        assert not set(subject[tr]) & set(subject[va])
        assert len(tr) + len(va) == 200


def test_unknown_person_rows_count_as_their_own_people():
    subject = np.r_[np.zeros(30), np.ones(30), np.full(30, -1)].astype(np.int64)
    folds = make_folds(subject, 90, 3, seed=0)
    assert folds.kind == PERSON and folds.n_people == 2
    for tr, va in folds.splits:
        assert not set(subject[tr][subject[tr] >= 0]) & set(subject[va][subject[va] >= 0])


@pytest.mark.parametrize("subject", [None, np.full(90, -1)])
def test_no_people_falls_back_to_a_seeded_row_split(subject):
    folds = make_folds(subject, 90, 3, seed=0)
    assert folds.kind == ROWS and folds.n_people == 0
    assert "seeded row split" in folds.describe()
    assert [len(va) for _, va in folds.splits] == [30, 30, 30]
    again = make_folds(subject, 90, 3, seed=0).splits
    other = make_folds(subject, 90, 3, seed=1).splits
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds.splits, again, strict=True))
    assert not np.array_equal(folds.splits[0][1], other[0][1])
    assert not np.array_equal(folds.splits[0][1], np.arange(30))  # shuffled, not blocks


def test_too_few_people_is_a_user_error():
    with pytest.raises(UserError, match="2 people cannot make 3"):
        make_folds(np.r_[np.zeros(10), np.ones(10)], 20, 3, seed=0)


def test_argmin_picks_the_planted_best_config():
    images, head, gaze, subject = _planted(240)
    folds = make_folds(subject, 240, 3, seed=0)
    configs = [{"head_weight": 0.0}, {"head_weight": 30.0}, {"head_weight": 0.0, "n_neighbors": 1}]
    res = search("knn", configs, EyeData(images, head), gaze, folds, {"feature": "pixels"})
    errs = [r.err_deg for r in res]
    assert choose(res) == 1
    assert errs[1] < 0.25 * errs[0] and errs[1] < 0.25 * errs[2]  # head-blind kNN guesses
    assert errs[0] > 8.0 and errs[1] < 3.0
    assert all(len(r.fold_errs_deg) == 3 for r in res)
    assert min(res[1].fold_errs_deg) <= res[1].err_deg <= max(res[1].fold_errs_deg)


def test_ties_go_to_the_first_config_and_find_locates_the_default():
    res = [ConfigResult({"k": i}, e, [e], 0.0) for i, e in enumerate([2.0, 1.0, 1.0])]
    assert choose(res) == 1
    # equal at the reported 0.001 deg: a tie, so the first (e.g. the previous default) stays
    near = [ConfigResult({"k": i}, e, [e], 0.0) for i, e in enumerate([1.0004, 1.0001, 0.9])]
    assert choose(near[:2]) == 0 and choose(near) == 2
    assert find(res, {"k": 2}) == 2 and find(res, {"k": 9}) is None and find(res, None) is None


def test_full_grids_hold_every_previous_default():
    assert {"knn", "knn-synthetic", "svr", "rf", "rf-plain", "alr", "alr-nnls"} <= set(FULL)
    for t in FULL.values():
        assert t.previous in expand(t.blocks), t.name
        assert t.source in ("real-lab", "synthetic")
    knn = expand(FULL["knn"].blocks)
    assert len(knn) == 2 * 4 * 3 + 4 and knn[0] == {
        "feature": "pixels", "head_weight": 0.0, "n_neighbors": 5
    }  # fmt: skip
    assert [t.name for t in pick_targets("full", ["knn"])] == ["knn", "knn-synthetic"]


def _stores(tmp_path, source_lab="demo:lab"):
    images, head, gaze, subject = _planted(90, seed=2, people=9)
    write_store(tmp_path / "lab", images=images, gaze_pitchyaw_rad=gaze, head_pitchyaw_rad=head,
                subject=subject, source=source_lab)  # fmt: skip
    images, head, gaze, _ = _planted(90, seed=3, people=None)
    write_store(tmp_path / "sim", images=images, gaze_pitchyaw_rad=gaze, head_pitchyaw_rad=head,
                source="demo:sim")  # fmt: skip
    return ["--lab-store", str(tmp_path / "lab"), "--synthetic-store", str(tmp_path / "sim")]


def test_end_to_end_tiny_grid_writes_csv_and_md_with_provenance(tmp_path):
    out = tmp_path / "sel"
    args = ["select", "--grid", "tiny", "--n", "60", "--quiet", "--out", str(out)]
    r = CliRunner().invoke(main, args + _stores(tmp_path))
    assert r.exit_code == 0, r.output
    with open(out / "knn.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["n_neighbors"] for row in rows] == ["10", "5"]
    assert {row["split"] for row in rows} == {"person"} and {row["n_folds"] for row in rows} == {
        "3"
    }
    errs = [float(row["err_deg"]) for row in rows]
    assert [row["chosen"] for row in rows] == [str(int(e == min(errs))) for e in errs]
    assert [row["previous_default"] for row in rows] == ["1", "0"]
    assert all(len(row["fold_errs_deg"].split(";")) == 3 for row in rows)
    with open(out / "knn-synthetic.csv") as f:
        assert {row["split"] for row in csv.DictReader(f)} == {"rows"}
    md = (out / "selection.md").read_text()
    for key in ("git_sha", "config_hash", "data_seed", "data_source", "device"):
        assert f"- {key}: `" in md
    assert "demo:lab" in md and "seeded row split" in md and "60 of 90 rows" in md
    assert "| `svr` | `svr` | real-lab |" in md
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporaries


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--estimator", "nope"], "no full grid for estimator(s) nope; choose from"),
        (["--grid", "huge"], "unknown grid 'huge'"),
        (["--lab-store", "/nonexistent/store", "--estimator", "svr"], "no such store directory"),
    ],
)
def test_cli_bad_input_is_one_clear_line(tmp_path, extra, needle):
    r = CliRunner().invoke(main, ["select", "--quiet", "--out", str(tmp_path / "o"), *extra])
    assert r.exit_code == 2 and needle in r.output, r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output


def test_cli_refuses_a_test_domain_store(tmp_path):
    args = ["select", "--grid", "tiny", "--estimator", "svr", "--quiet", "--out", str(tmp_path)]
    r = CliRunner().invoke(main, args + _stores(tmp_path, source_lab="demo:wild"))
    assert r.exit_code == 2 and "is a test-domain store" in r.output, r.output
    assert r.output.strip().count("\n") == 0 and not (tmp_path / "selection.md").exists()


# The fields of a <target>.csv row that are not searched parameters.
_SCORE_COLUMNS = {"config", "err_deg", "fold_errs_deg", "n_folds", "split", "chosen",
                  "previous_default", "seconds"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FULL))
def test_defaults_are_the_committed_selection(name):
    """Each estimator's defaults (the suite row's params for knn-synthetic) equal the config
    `bench select` chose, as committed in results/demo/selection/<target>.csv."""
    from pathlib import Path

    from benchmarks.pipeline.suite import load_suite
    from benchmarks.selection.writer import _fmt
    from estimators import create_estimator

    path = Path(__file__).resolve().parent.parent / "results/demo/selection" / f"{name}.csv"
    with open(path) as f:
        chosen = [row for row in csv.DictReader(f) if row["chosen"] == "1"]
    assert len(chosen) == 1
    searched = {k: v for k, v in chosen[0].items() if k not in _SCORE_COLUMNS and v != ""}
    target = FULL[name]
    rows = [r for r in load_suite("table1").rows if r.id == name and r.method == target.estimator]
    est = create_estimator(target.estimator, **(rows[0].params if rows else {}))
    params = est.get_params()
    assert {k: _fmt(params[k]) for k in searched} == searched

"""Profiles: sections named for what they govern ([data] both modes, [demo] / [real] one each)."""

import pytest

from benchmarks.pipeline.suite import data_seed, demo_sizes, load_profile
from estimators.base import UserError


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_shipped_profiles_name_their_sections(name):
    prof = load_profile(name)
    assert data_seed(prof) == 0
    assert set(demo_sizes(prof)) == {"n_sim", "n_lab", "n_wild", "n_test"}
    assert "data_seed" not in prof["demo"]


def test_a_real_data_profile_needs_no_demo_sizes(tmp_path):
    path = tmp_path / "real.toml"
    path.write_text('[profile]\nname = "r"\n[data]\ndata_seed = 7\n[train]\nn_train = 10\n')
    prof = load_profile(str(path))
    assert data_seed(prof) == 7 and prof["demo"] == {} and prof["real"] == {}
    with pytest.raises(UserError, match=r"real.toml: \[demo\] needs n_sim, n_lab, n_wild, n_test"):
        demo_sizes(prof)


def test_data_seed_under_demo_is_refused_in_one_line(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text("[profile]\n[demo]\ndata_seed = 0\nn_sim = 1\n[train]\n")
    with pytest.raises(UserError, match=r"old.toml: data_seed belongs in \[data\]"):
        load_profile(str(path))


# --- Which rows `bench run` selects ------------------------------------------------------------

PAPER_ROWS = ["svr-lab", "alr-lab", "rf-lab", "knn-lab", "cnn-lab", "knn-synthetic",
              "cnn-synthetic", "cnn-refined"]  # fmt: skip


def _selected(profile, only=None, suite="table1"):
    from benchmarks.pipeline.run import selected_rows
    from benchmarks.pipeline.suite import load_suite

    return [r.id for r in selected_rows(load_suite(suite), load_profile(profile), only)]


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_a_default_run_selects_the_papers_eight_rows_and_rows_all_every_one(name):
    """No --rows: Table 1's eight rows, no extra row, under every shipped profile. --rows all:
    every row less the profile's [rows] skip, which a row named by its id overrides."""
    from benchmarks.pipeline.suite import load_suite

    suite, prof = load_suite("table1"), load_profile(name)
    assert _selected(name) == PAPER_ROWS
    assert not any(suite.row(i).extra for i in _selected(name))
    skip = prof["rows"]["skip"]
    assert _selected(name, ["all"]) == [i for i in suite.row_ids if i not in skip]
    assert _selected(name, ["all", *skip]) == suite.row_ids  # named: run although skipped
    assert _selected(name, ["resnet18-refined", "knn-lab"]) == ["knn-lab", "resnet18-refined"]


def test_rows_all_under_the_paper_profile_is_the_whole_suite():
    from benchmarks.pipeline.suite import load_suite

    assert load_profile("paper")["rows"]["skip"] == []
    assert _selected("paper", ["all"]) == load_suite("table1").row_ids
    assert len(load_suite("table1").row_ids) > len(PAPER_ROWS)  # there are extra rows to miss


def test_ci_smoke_rows_all_are_the_committed_baselines_rows():
    """.ci/run runs the smoke table with --rows all and checks it against demo-smoke.csv: that
    selection must be the baseline's rows, or `bench check` reports one missing."""
    import csv
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with open(root / "results/baselines/demo-smoke.csv", newline="") as f:
        baseline = [r["row_id"] for r in csv.DictReader(f)]
    assert _selected("smoke", ["all"]) == baseline
    ci = (root / ".ci/run").read_text()
    assert ci.count("bench run table1 --profile smoke --rows all") == 2  # serial and dask


def test_stability_still_gets_its_rows():
    from benchmarks.commands.stability import ROWS

    assert sorted(_selected("quick", ROWS)) == sorted(ROWS)  # knn-refined is extra: named


def test_a_suite_of_extra_rows_only_says_how_to_run_them(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(
        '[suite]\nname = "x"\ntitle = "x"\n[[rows]]\nid = "m"\nlabel = "m"\nmethod = "mean"\n'
        'train = "real-lab"\nrs = "R"\nextra = true\n'
    )
    with pytest.raises(UserError, match="no rows to run.*--rows all"):
        _selected("quick", suite=str(path))
    assert _selected("quick", ["all"], suite=str(path)) == ["m"]
    path.write_text(path.read_text().replace('id = "m"', 'id = "all"'))
    from benchmarks.pipeline.suite import load_suite

    with pytest.raises(UserError, match="'all' is not a row id"):
        load_suite(str(path))

"""`bench check`: exit 0 within tolerance, 1 for a regression, 2 for bad input; the baseline's
own tolerance_deg wins over --tolerance-deg. Results are written by hand: no pipeline run."""

import pytest
from click.testing import CliRunner

from benchmarks.cli import main
from benchmarks.records.rows import REQUIRED, SCHEMA, append_row


@pytest.fixture()
def results(tmp_path):
    res = tmp_path / "res"
    for row_id, err in (("a", 10.0), ("b", 20.0)):
        row = {k: 0 for k in REQUIRED} | {
            "schema": SCHEMA,
            "row_id": row_id,
            "seed": 0,
            "err_mean_deg": err,
        }
        append_row(res, row)
    return res


def check(results, baseline, *extra):
    args = ["check", "--results", str(results), "--baseline", str(baseline), *extra]
    return CliRunner().invoke(main, args)


def test_within_tolerance_exits_0(results, tmp_path):
    base = tmp_path / "base.csv"
    base.write_text("row_id,err_mean_deg\na,9.8\nb,20.0\n")
    r = check(results, base)
    assert r.exit_code == 0, r.output
    assert "check passed: 2 row(s)" in r.output


def test_a_regression_or_a_missing_row_exits_1(results, tmp_path):
    base = tmp_path / "base.csv"
    base.write_text("row_id,err_mean_deg\na,9.0\nb,20.0\n")  # a is 1.0 worse, tolerance 0.5
    r = check(results, base)
    assert r.exit_code == 1 and "WORSE  a" in r.output and "1 row(s) worse" in r.output
    base.write_text("row_id,err_mean_deg\na,10.0\nghost,5.0\n")
    r = check(results, base)
    assert r.exit_code == 1 and "MISSING ghost" in r.output


@pytest.mark.parametrize(
    "content",
    [
        None,
        "row_id,wrong\na,1\n",
        "row_id,err_mean_deg\na,\n",
        "row_id,err_mean_deg\na,9.8\nb,twenty\n",  # a non-number: one line, not a traceback
        "row_id,err_mean_deg,tolerance_deg\na,9.8,0.3\nb,20,wide\n",
        "row_id,err_mean_deg\na,9.8\na,20\n",
        "row_id,err_mean_deg,profile\na,9.8,smoke\n",  # half the metadata
    ],
    ids=str,
)
def test_a_missing_or_bad_baseline_exits_2_in_one_line(results, tmp_path, content):
    base = tmp_path / "base.csv"
    if content is not None:
        base.write_text(content)
    r = check(results, base)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.output.strip().count("\n") == 0
    assert r.output.startswith("Error: ") and "base.csv" in r.output


def test_missing_results_exit_2(tmp_path):
    base = tmp_path / "base.csv"
    base.write_text("row_id,err_mean_deg\na,10.0\n")
    r = check(tmp_path / "none", base)
    assert r.exit_code == 2 and "no results here" in r.output


def test_the_baselines_tolerance_column_wins_over_the_option(results, tmp_path):
    base = tmp_path / "base.csv"
    # a: 1.0 worse, its own tolerance 2.0 -> ok even with --tolerance-deg 0.1;
    # b: 1.0 worse, no tolerance of its own (empty) -> the option's 0.1 -> worse
    base.write_text("row_id,err_mean_deg,tolerance_deg\na,9.0,2.0\nb,19.0,\n")
    r = check(results, base, "--tolerance-deg", "0.1")
    assert r.exit_code == 1
    assert "OK     a" in r.output and "tolerance 2.00" in r.output
    assert "WORSE  b" in r.output and "tolerance 0.10" in r.output
    # and the other way round: a strict column beats a generous option
    base.write_text("row_id,err_mean_deg,tolerance_deg\na,9.0,0.5\nb,19.0,\n")
    r = check(results, base, "--tolerance-deg", "5")
    assert r.exit_code == 1 and "WORSE  a" in r.output and "OK     b" in r.output


def test_check_help_documents_the_exit_codes():
    out = CliRunner().invoke(main, ["check", "--help"]).output
    assert "0  every baseline row" in out and "1  a regression" in out and "2  bad input" in out


def test_only_errors_raised_on_purpose_become_one_line():
    import click

    from benchmarks.commands.common import fail_cleanly
    from estimators.base import UserError

    @fail_cleanly
    def bug():
        raise ValueError("a real bug")

    @fail_cleanly
    def bad_input():
        raise UserError("bad.toml: unknown key")

    with pytest.raises(ValueError, match="a real bug") as info:  # keeps its traceback
        bug()
    assert not isinstance(info.value, click.ClickException)
    with pytest.raises(click.ClickException, match="bad.toml") as info:
        bad_input()
    assert info.value.exit_code == 2


def test_report_and_check_find_the_latest_run(tmp_path, monkeypatch):
    import os

    from benchmarks.commands.report import latest_results

    runs = tmp_path / "results" / "runs"
    for i, name in enumerate(["old", "new"]):
        (runs / name).mkdir(parents=True)
        (runs / name / "rows.jsonl").write_text("")
        os.utime(runs / name / "rows.jsonl", (1000 + i, 1000 + i))
    assert latest_results(runs) == runs / "new"
    monkeypatch.chdir(tmp_path / "results")  # no results/runs here: one clear line, exit 2
    base = tmp_path / "base.csv"
    base.write_text("row_id,err_mean_deg\na,10.0\n")
    r = CliRunner().invoke(main, ["check", "--baseline", str(base)])
    assert r.exit_code == 2 and "no results under results/runs/" in r.output


def _rows_of(res, profile="smoke", data_mode="demo", config="c0ffee", errs=(("a", 10.0),)):
    for row_id, err in errs:
        row = {k: 0 for k in REQUIRED} | {"schema": SCHEMA, "row_id": row_id, "seed": 0}
        meta = {"profile": profile, "data_mode": data_mode, "profile_config_hash": config}
        append_row(res, row | meta | {"err_mean_deg": err})
    return res


def test_a_baseline_of_another_profile_mode_or_config_is_refused_in_one_line(tmp_path):
    base = tmp_path / "base.csv"
    base.write_text("row_id,err_mean_deg,profile,data_mode,config_hash\na,10,smoke,demo,c0ffee\n")
    assert check(_rows_of(tmp_path / "same"), base).exit_code == 0
    # another profile, data mode or config; rows made before rows recorded their config
    others = [{"profile": "quick"}, {"data_mode": "real"}, {"config": "beef"}, {"config": None}]
    for i, other in enumerate(others):
        r = check(_rows_of(tmp_path / f"other{i}", **other), base)
        assert r.exit_code == 2 and r.output.strip().count("\n") == 0, r.output
        assert "baseline of another run" in r.output
    mixed = _rows_of(_rows_of(tmp_path / "mixed"), profile="quick", errs=(("b", 1.0),))
    r = check(mixed, base)
    assert r.exit_code == 2 and "mix runs" in r.output


def test_write_baseline_records_its_run_and_refuses_another_profiles_without_force(tmp_path):
    base = tmp_path / "base.csv"
    smoke = _rows_of(tmp_path / "smoke", errs=(("a", 10.0), ("b", 20.0)))
    r = check(smoke, base, "--write-baseline", "--tolerance-deg", "0.3")
    assert r.exit_code == 0, r.output
    text = base.read_text()
    assert text.splitlines()[0] == "row_id,err_mean_deg,tolerance_deg,profile,data_mode,config_hash"
    assert "a,10.0,0.3,smoke,demo,c0ffee" in text and check(smoke, base).exit_code == 0
    quick = _rows_of(tmp_path / "quick", profile="quick", errs=(("a", 30.0),))
    r = check(quick, base, "--write-baseline")
    assert r.exit_code == 2 and "pass --force" in r.output and base.read_text() == text
    fewer = _rows_of(tmp_path / "fewer", errs=(("a", 11.0),))  # same run, a row lost: refused
    r = check(fewer, base, "--write-baseline")
    assert r.exit_code == 2 and "lack its row(s) b" in r.output and base.read_text() == text
    base.write_text(text.replace("a,10.0,0.3", "a,10.0,0.9"))  # a tolerance set by hand ...
    assert check(_rows_of(tmp_path / "again", errs=(("a", 9.0), ("b", 20.0))), base,
                 "--write-baseline").exit_code == 0  # fmt: skip
    assert "a,9.0,0.9,smoke" in base.read_text()  # ... survives a re-freeze of the same run
    r = check(quick, base, "--write-baseline", "--force")
    assert r.exit_code == 0 and base.read_text().splitlines()[1:] == [
        "a,30.0,0.5,quick,demo,c0ffee"
    ]
    legacy = tmp_path / "legacy.csv"
    legacy.write_text("row_id,err_mean_deg\na,10\n")
    r = check(smoke, legacy, "--write-baseline")
    assert r.exit_code == 2 and "records no profile" in r.output


def test_the_committed_smoke_baseline_is_of_the_smoke_profile_as_it_is_now():
    """Editing profiles/smoke.toml without re-freezing its baseline fails here, not in CI."""
    from pathlib import Path

    from benchmarks.pipeline.suite import load_profile, profile_config_hash
    from benchmarks.reporting.check import baseline_of, read_baseline

    path = Path(__file__).parent.parent / "results" / "baselines" / "demo-smoke.csv"
    of = baseline_of(read_baseline(path), path)
    assert (of.profile, of.data_mode) == ("smoke", "demo")
    assert of.config_hash == profile_config_hash(load_profile("smoke"))

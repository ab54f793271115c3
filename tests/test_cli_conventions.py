"""The command-line conventions users already have: Ctrl-C exits 130 with one line saying what
was kept, and every report says which command line and which checkout made its rows."""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner

from benchmarks.cli import main

SUITE = """
[suite]
name = "tiny"
title = "tiny"
[[rows]]
id = "mean-lab"
label = "Mean gaze (lab)"
method = "mean"
train = "real-lab"
rs = "R"
[[rows]]
id = "mean-synthetic"
label = "Mean gaze (synthetic)"
method = "mean"
train = "synthetic"
rs = "S"
"""

PROFILE = """
[profile]
name = "tiny"
seeds = 1
[demo]
n_sim = 60
n_lab = 60
n_wild = 60
n_test = 40
[train]
n_train = 40
[refiner]
kind = "identity"
"""


@pytest.fixture()
def tiny(tmp_path):
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "profile.toml").write_text(PROFILE)
    return tmp_path


def _run_args(tiny) -> list[str]:
    return ["run", str(tiny / "suite.toml"), "--profile", str(tiny / "profile.toml"),
            "--work", str(tiny / "work"), "--results", str(tiny / "res"), "--quiet", "--no-audit"]  # fmt: skip


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_in_bench_run_exits_130_with_one_line_saying_what_was_kept(tiny, monkeypatch):
    import benchmarks.pipeline.run as run_module

    monkeypatch.setattr(run_module, "run_suite", _interrupt)
    r = CliRunner().invoke(main, _run_args(tiny))
    assert r.exit_code == 130, r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output and "Aborted" not in r.output
    assert r.output.startswith("interrupted: finished stores and the refiner's last checkpoint")
    assert str(tiny / "work") in r.output and str(tiny / "res" / "rows.jsonl") in r.output
    assert "the same command resumes" in r.output


def test_ctrl_c_in_any_command_exits_130_with_one_line(tmp_path, monkeypatch):
    import benchmarks.reporting.report as report_module

    monkeypatch.setattr(report_module, "write_report", _interrupt)
    r = CliRunner().invoke(main, ["report", "--results", str(tmp_path)])
    assert r.exit_code == 130, r.output
    assert r.output.count("\n") == 1 and r.output.startswith("interrupted: what finished")


def test_rows_and_report_carry_the_command_line_and_git_dirty(tiny):
    args = _run_args(tiny)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tiny / "res" / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    command = shlex.join(["bench", *args])
    for row in rows:
        assert row["provenance"]["command"] == command
        assert row["provenance"]["git_dirty"] in (True, False)  # this test runs in a checkout
    report = (tiny / "res" / "table1.md").read_text()
    dirty = rows[0]["provenance"]["git_dirty"]
    assert f"Made by `{command}`, on git {rows[0]['provenance']['git_sha'][:10]}" in report
    assert ("(with uncommitted changes)." if dirty else "(clean).") in report
    assert "| git sha | uncommitted changes |" in report
    assert f"| {rows[0]['provenance']['git_sha'][:10]} | {'yes' if dirty else 'no'} |" in report


def test_bench_turing_takes_gazebench_work_through_click(tmp_path, monkeypatch):
    import benchmarks.turing.server as server_module
    from benchmarks.turing.fixtures import write_demo_run

    made = write_demo_run(tmp_path / "made", n_real=30, n_synthetic=30)
    fit = made.results_dir / "refiners" / "degrade" / "seed0" / "fit.json"
    fit.parent.mkdir(parents=True, exist_ok=True)  # where the run says its work dir was
    fit.write_text(json.dumps({"run_dir": str(made.work_dir / "refiner" / "degrade-seed0")}))
    monkeypatch.chdir(tmp_path)  # no ./work here
    real_make_server = server_module.make_server

    def served_once(*args, **kwargs):  # serve nothing: return as Ctrl-C would
        server = real_make_server(*args, **kwargs)
        server.serve_forever = lambda: None
        return server

    monkeypatch.setattr(server_module, "make_server", served_once)
    args = ["turing", "--results", str(made.results_dir), "--port", "0", "--trials", "10"]
    # GAZEBENCH_WORK (like the default ./work) is a first guess, not an order: the stores are
    # found in the work dir the run names
    r = CliRunner().invoke(main, args, env={"GAZEBENCH_WORK": str(tmp_path / "elsewhere")})
    assert r.exit_code == 0, r.output
    record = json.loads((made.results_dir / "turing-refined" / "study.json").read_text())
    assert record["fakes"][0]["store_path"].startswith(str(made.work_dir))
    # ... and it is checked as --work is: a file is one line, exit 2
    (tmp_path / "a-file").write_text("")
    args[2:4] = ["--study", str(tmp_path / "study2"), "--results", str(made.results_dir)]
    r = CliRunner().invoke(main, args, env={"GAZEBENCH_WORK": str(tmp_path / "a-file")})
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "(env var: 'GAZEBENCH_WORK')" in r.output and "is a file" in r.output


def test_the_quick_profiles_time_is_stated_once_in_the_readme():
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    quick_help = " ".join(help_text.split()).split("quick (", 1)[1].split(")", 1)[0]
    profile = (repo / "benchmarks" / "profiles" / "quick.toml").read_text()
    for text in (quick_help, profile.split("[data]")[0]):
        assert "Quick start" in text and not re.search(r"\d\s*min", text), text
    readme = (repo / "README.md").read_text()
    assert readme.count("Time (stated only here;") == 1

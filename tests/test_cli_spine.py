import numpy as np
from click.testing import CliRunner

from benchmarks.cli import main


def test_help_lists_commands():
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    listed = r.output.split("Commands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listed if line.startswith("  ") and line.strip()]
    assert sorted(names) == [
        "check",
        "data",
        "perf",
        "pilot",
        "refine",
        "report",
        "run",
        "select",
        "stability",
        "turing",
    ]


def test_prepare_demo_and_show(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["data", "prepare", "demo", "--out", str(tmp_path / "d"), "--n", "64"])
    assert r.exit_code == 0, r.output
    assert "64 images (demo:wild)" in r.output
    r = runner.invoke(
        main, ["data", "show", str(tmp_path / "d" / "sim"), "--out", str(tmp_path / "g.png")]
    )
    assert r.exit_code == 0, r.output
    png = (tmp_path / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_show_on_a_non_store_is_one_clear_line(tmp_path):
    (tmp_path / "x").mkdir()
    r = CliRunner().invoke(main, ["data", "show", str(tmp_path / "x")])
    assert r.exit_code != 0
    assert "manifest.json is missing" in r.output and "Traceback" not in r.output
    assert r.output.strip().count("\n") == 0


def test_perf_render_section_reports_rates():
    from benchmarks.perf.core import run_perf

    rows = run_perf(["render"], quick=True)
    assert [r["what"] for r in rows] == ["render demo sim", "render demo lab", "render demo wild"]
    assert all(np.isfinite(r["value"]) and r["value"] > 0 for r in rows)

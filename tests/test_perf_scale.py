"""`bench perf --scale` machinery on tiny sizes: rows, CSV, plot, fit. No timed assertions."""

import numpy as np
import pytest

from benchmarks.perf.scale import parse_sizes, run_scale
from benchmarks.perf.scale_report import COLUMNS, fit_power, fit_stage, fit_table, read_csv
from estimators.base import UserError


def test_two_tiny_points_write_csv_rows_and_plot(tmp_path):
    rows = run_scale({"mpiigaze": [30, 60]}, tmp_path)
    back = read_csv(tmp_path / "scale.csv")
    assert [r["n"] for r in back] == [30, 60] and (tmp_path / "scale.png").stat().st_size > 0
    with open(tmp_path / "scale.csv") as f:
        assert f.readline().strip().split(",") == list(COLUMNS)
    for r in back:
        assert r["stage"] == "mpiigaze"
        assert r["wall_s"] > 0 and r["peak_rss_mb"] > 0 and r["us_per_item"] > 0
    assert len(rows) == 2
    # A later run keeps the points it does not re-measure.
    run_scale({"mpiigaze": [30]}, tmp_path)
    assert sorted(r["n"] for r in read_csv(tmp_path / "scale.csv")) == [30, 60]
    assert "| mpiigaze | 427,318 |" in fit_table(back)


def test_fit_recovers_a_known_exponent():
    n = np.array([1e3, 1e4, 1e5, 1e6])
    a, c = fit_power(n, 3e-5 * n**1.2)
    assert a == pytest.approx(1.2) and c == pytest.approx(3e-5)
    rows = [
        {
            "stage": "refine",
            "n": int(k),
            "wall_s": 2e-3 * k,
            "peak_rss_mb": 500.0,
            "peak_anon_mb": 9.0,
        }
        for k in n
    ]
    f = fit_stage(rows, "refine")
    assert f["time_exponent"] == pytest.approx(1.0) and f["rss_mb_per_million"] == pytest.approx(0)
    assert f["paper_s_fit"] == pytest.approx(2e-3 * 1_200_000)


def test_parse_sizes():
    assert parse_sizes("refine=10,20; unityeyes=5") == {"refine": [10, 20], "unityeyes": [5]}
    assert "mpiigaze" in parse_sizes(None)
    for bad in ("nope=1", "refine=x", "refine=0"):
        with pytest.raises(UserError):
            parse_sizes(bad)

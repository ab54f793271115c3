"""The `bench perf` estimators section (rows and their fields; speed itself is not asserted)."""

import estimators
from benchmarks.perf.core import SECTIONS, format_rows
from benchmarks.perf.estimators import _fit_predict_rows


def test_estimators_section_is_registered():
    assert SECTIONS["estimators"] == "benchmarks.perf.estimators:perf_estimators"


def test_fit_and_predict_rows_on_the_same_sizes(monkeypatch):
    monkeypatch.setattr(estimators, "list_estimators", lambda: ["mean", "knn"])
    rows = _fit_predict_rows(n_train=200, n_test=50)
    assert [r["what"] for r in rows] == ["fit mean", "predict mean", "fit knn", "predict knn"]
    for r in rows:
        assert r["unit"] == "images/s" and r["value"] > 0
        assert (r["n_train"], r["n_test"]) == (200, 50)
        assert 0 < r["demo_wild_err_deg"] < 30
    assert "predict knn" in format_rows([{"section": "estimators", **r} for r in rows])

"""The `bench perf` estimators section (rows and their fields; speed itself is not asserted)."""

import numpy as np
import pytest

import estimators
from benchmarks.datasets.demo import render_domain
from benchmarks.perf.core import SECTIONS, format_rows
from benchmarks.perf.estimators import _fit_predict_rows
from estimators.geometry import mean_angular_error_deg, pitchyaw_to_vector, vector_to_pitchyaw


def test_estimators_section_is_registered():
    assert SECTIONS["estimators"] == "benchmarks.perf.estimators:perf_estimators"


def test_fit_and_predict_rows_on_the_same_sizes(monkeypatch):
    monkeypatch.setattr(estimators, "list_estimators", lambda: ["mean", "knn"])
    rows = _fit_predict_rows(n_train=200, n_test=50)
    assert [r["what"] for r in rows] == ["fit mean", "predict mean", "fit knn", "predict knn"]
    for r in rows:
        assert r["unit"] == "images/s" and r["value"] > 0
        assert (r["n_train"], r["n_test"]) == (200, 50)
    err = {r["what"].split()[1]: r["demo_wild_err_deg"] for r in rows}
    # The section's error is the error on its own demo data: for the mean predictor it is the
    # error of the mean training gaze direction on the test gaze (the section's seeds: train 1, test 2).
    train, test = render_domain("wild", 200, seed=1), render_domain("wild", 50, seed=2)
    mean_vec = pitchyaw_to_vector(train["gaze_pitchyaw_rad"].astype(np.float64)).mean(0)
    mean_gaze = vector_to_pitchyaw(mean_vec[None] / np.linalg.norm(mean_vec))
    floor = mean_angular_error_deg(np.repeat(mean_gaze, 50, axis=0), test["gaze_pitchyaw_rad"])
    assert err["mean"] == pytest.approx(floor, abs=0.01)  # the section rounds to 0.01 deg
    assert err["knn"] < 0.8 * err["mean"]  # a real method beats the floor by a margin
    assert "predict knn" in format_rows([{"section": "estimators", **r} for r in rows])

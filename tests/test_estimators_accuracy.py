"""Demo-domain accuracy: every estimator trained on 4,000 `wild` images, tested on 600 others.

A sanity check only: each estimator, with its defaults, must learn something on one domain. No
default comes from here (training and scoring on labelled `wild` data would be selecting on
target labels); the defaults are chosen by `bench select` on person-disjoint folds of each row's
training source (results/demo/selection/selection.md, docs/baselines.md).

The mean-gaze predictor scores about 10.4 deg here. Measured (seeds below, fp32/bf16 CPU):
kNN 4.95, SVR 3.36, ALR (Lu) 8.0, ALR-NNLS 4.08, clustered RF 5.97 (the plain forest 5.4),
CNN (test-size settings) 4.46. Each method must beat a fraction of the mean predictor's error;
0.5 for most; RF gets 0.6 (it plateaus near 0.52-0.58 on this domain at this size) and ALR 0.85
(below).
"""

import numpy as np
import pytest

from benchmarks.datasets.demo import render_domain
from estimators import EyeData, create_estimator
from estimators.geometry import mean_angular_error_deg

pytestmark = pytest.mark.slow

N_TRAIN, N_TEST = 4000, 600
# The CNN is the paper network at a quarter of its conv width, with head pose, for 3 epochs: the
# full-width network needs several minutes on a shared 2-core CPU (see `bench perf`).
PARAMS = {
    "mean": {},
    "knn": {},
    "svr": {},
    "rf": {"n_jobs": 2},
    "alr": {},
    "alr-nnls": {},
    "cnn": {"width": 0.25, "head_pose": True, "epochs": 3, "progress": False},
}
# ALR (Lu's signed weights on the 15-value region feature, defaults chosen by `bench select` on
# the lab source, not on wild) measures 8.0 deg here (0.77x the mean): region sums carry wild's uneven lighting, which
# the lcn feature of the other methods removes. Its bound only says it learned something.
MAX_RATIO = {"rf": 0.6, "alr": 0.85}


@pytest.fixture(scope="module")
def demo_wild_errors_deg():
    """Mean angular error (deg) of every estimator, wild -> wild, computed once per module."""
    tr = render_domain("wild", N_TRAIN, seed=1)
    te = render_domain("wild", N_TEST, seed=2)
    X_tr = EyeData(tr["images"], tr["head_pitchyaw_rad"])
    X_te = EyeData(te["images"], te["head_pitchyaw_rad"])
    errors = {}
    for name, params in PARAMS.items():
        est = create_estimator(name, random_state=0, **params).fit(X_tr, tr["gaze_pitchyaw_rad"])
        errors[name] = mean_angular_error_deg(est.predict(X_te), te["gaze_pitchyaw_rad"])
    return errors


def test_mean_predictor_is_the_floor(demo_wild_errors_deg):
    assert 8.0 < demo_wild_errors_deg["mean"] < 13.0


@pytest.mark.parametrize("name", ["knn", "svr", "rf", "alr", "alr-nnls", "cnn"])
def test_far_better_than_the_mean_gaze(name, demo_wild_errors_deg):
    ratio = demo_wild_errors_deg[name] / demo_wild_errors_deg["mean"]
    assert ratio < MAX_RATIO.get(name, 0.5), f"{name}: {demo_wild_errors_deg}"


def test_cnn_beats_knn(demo_wild_errors_deg):
    assert demo_wild_errors_deg["cnn"] < demo_wild_errors_deg["knn"], demo_wild_errors_deg
    assert np.isfinite(list(demo_wild_errors_deg.values())).all()

"""The CNN's opt-in lr schedule and kept weights (issue #22 item 4, "the CNN's own variance").

lr_schedule="cosine" decays the lr per optimiser step to 0; weights="last" keeps the final step's
weights and weights="ema" their exponential moving average, where the default "best" picks the
best in-domain validation epoch. The defaults must train exactly as before. Tiny sizes: a
quarter-width paper net, 200 renders, 2 epochs of 6 batches, fp32 on the CPU.
"""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from benchmarks.datasets.demo import render_domain
from estimators import EyeData
from estimators import torch_train as tt
from estimators.base import UserError
from estimators.cnn import GazeCNN
from estimators.geometry import angular_error_deg, pitchyaw_to_vector
from estimators.multimodal_cnn import MultimodalGazeCNN

# 200 rows, 20 held out -> 180 fitting rows in 6 batches of 32: 12 optimiser steps
KW = dict(width=0.25, epochs=2, batch_size=32, lr=3e-3, val_fraction=0.1, progress=False,
          precision="fp32", device="cpu", random_state=0)  # fmt: skip
N_STEPS = 12


@pytest.fixture(scope="module")
def data():
    d = render_domain("lab", 200, seed=5)
    # no people: a row split, so the validation rows are split_rows(200, 0.1, seed)
    return EyeData(d["images"], d["head_pitchyaw_rad"]), d["gaze_pitchyaw_rad"]


@pytest.fixture()
def steps(monkeypatch):
    """Record, around every optimiser step of fit_net: the lr it ran at, the weights before the
    first step (where an EMA starts) and the weights after each step."""
    seen = {"lr": [], "before": None, "after": []}
    original = tt.train_step

    def recording(net, opt, *args):
        if seen["before"] is None:
            seen["before"] = _state(net)
        seen["lr"].append(opt.param_groups[0]["lr"])
        loss = original(net, opt, *args)
        seen["after"].append(_state(net))
        return loss

    monkeypatch.setattr(tt, "train_step", recording)
    return seen


def _state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _same(a: dict, b: dict, **tol) -> bool:
    return all(torch.allclose(a[k], b[k], **tol) for k in a)


def _val_err_of_kept_net(est, X, y) -> float:
    """Mean angular error (deg) of the fitted net on fit_net's validation rows."""
    _, val = tt.split_rows(len(y), KW["val_fraction"], KW["random_state"])
    pred = pitchyaw_to_vector(est.predict(X[val]))
    return float(angular_error_deg(pred, pitchyaw_to_vector(y[val])).mean())


def test_the_defaults_train_as_before(data, steps):
    X, y = data
    default = GazeCNN(**KW).fit(X, y)
    lrs = list(steps["lr"])
    explicit = GazeCNN(**KW, lr_schedule="constant", weights="best").fit(X, y)
    np.testing.assert_array_equal(default.predict(X), explicit.predict(X))
    assert default.history_ == explicit.history_
    assert lrs == [KW["lr"]] * N_STEPS  # constant: no schedule touched the optimiser
    errs = [h["val_err_deg"] for h in default.history_]
    assert default.best_epoch_ == int(np.argmin(errs)) and default.ema_decay_ is None
    assert default.n_steps_ == N_STEPS
    # the kept weights are the best epoch's, as before
    best = steps["after"][(default.best_epoch_ + 1) * N_STEPS // KW["epochs"] - 1]
    assert _same(_state(default.net_), best, rtol=0, atol=0)


def test_cosine_decays_the_lr_per_step_to_zero(data, steps):
    X, y = data
    est = GazeCNN(**KW, lr_schedule="cosine").fit(X, y)
    lrs = np.array(steps["lr"])
    assert len(lrs) == est.n_steps_ == N_STEPS
    assert lrs[0] == KW["lr"] and (np.diff(lrs) < 0).all()
    expected = 0.5 * KW["lr"] * (1 + np.cos(np.pi * np.arange(N_STEPS) / N_STEPS))
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[-1] < 0.02 * KW["lr"]  # the last step: pi^2 / (4 x 12^2) = 1.7 % of lr
    assert tt.cosine_lr(1.0, N_STEPS, N_STEPS) == pytest.approx(0.0, abs=1e-15)
    assert est.best_epoch_ is not None  # the schedule alone still keeps the best epoch


def test_ema_keeps_the_average_of_the_steps_weights(data, steps):
    X, y = data
    est = GazeCNN(**KW, weights="ema").fit(X, y)
    decay = 0.5 ** (1 / (0.1 * N_STEPS))  # half-life: 10 % of the 12 steps
    assert est.ema_decay_ == pytest.approx(decay) and est.best_epoch_ is None
    avg = dict(steps["before"])  # the average starts at the initial weights (bias included)
    for after in steps["after"]:
        avg = {k: decay * avg[k] + (1 - decay) * after[k] for k in avg}
    kept, last = _state(est.net_), steps["after"][-1]
    assert _same(kept, avg, rtol=1e-5, atol=1e-6)
    assert not _same(kept, last, rtol=1e-4, atol=1e-5)
    # validation still measured every epoch, on the weights kept (the average)
    assert [h["epoch"] for h in est.history_] == [0, 1]
    assert est.history_[-1]["val_err_deg"] == pytest.approx(_val_err_of_kept_net(est, X, y), 1e-4)
    # the average follows the trajectory and changes nothing of it: "last" trains the same steps
    steps["after"].clear()
    final = GazeCNN(**KW, weights="last").fit(X, y)
    assert _same(_state(final.net_), last, rtol=0, atol=0)
    assert _same(steps["after"][-1], last, rtol=0, atol=0)


def test_last_keeps_the_final_weights_when_an_earlier_epoch_validated_better(
    data, steps, monkeypatch
):
    X, y = data
    calls = []

    def planted(pred, target):  # epoch 0 validates at 0 deg, every later epoch at 10 deg
        calls.append(1)
        return np.full(len(pred), 0.0 if len(calls) % 2 else 10.0)

    monkeypatch.setattr(tt, "angular_error_deg", planted)
    best = GazeCNN(**KW).fit(X, y)
    end_of_epoch_0 = steps["after"][N_STEPS // 2 - 1]
    assert best.best_epoch_ == 0 and _same(_state(best.net_), end_of_epoch_0, rtol=0, atol=0)
    calls.clear()
    steps["after"].clear()
    last = GazeCNN(**KW, weights="last").fit(X, y)
    assert last.best_epoch_ is None
    assert [h["val_err_deg"] for h in last.history_] == [0.0, 10.0]  # recorded, picks nothing
    assert _same(_state(last.net_), steps["after"][-1], rtol=0, atol=0)
    assert not _same(_state(last.net_), end_of_epoch_0, rtol=1e-4, atol=1e-5)


def test_the_average_covers_buffers_for_batchnorm_nets():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    average = tt.WeightAverage(net, decay=0.75)
    start = _state(net)
    net.train()
    net(torch.randn(16, 3) * 5 + 2)  # moves running_mean / running_var, counts one batch
    with torch.no_grad():
        net[0].weight.add_(1.0)
    average.update(net)
    now, avg = _state(net), _state(average.net)
    for k in ("0.weight", "1.running_mean", "1.running_var"):
        torch.testing.assert_close(avg[k], 0.75 * start[k] + 0.25 * now[k])
    assert avg["1.num_batches_tracked"] == now["1.num_batches_tracked"] == 1
    assert not any(p.requires_grad for p in average.net.parameters())


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(lr_schedule="step"), "lr_schedule must be 'constant' or 'cosine', got 'step'"),
        (dict(weights="swa"), "weights must be 'best', 'last' or 'ema', got 'swa'"),
        (dict(weights="ema", ema_halflife=0), "ema_halflife must be > 0"),
        (dict(ema_halflife=-0.1), "ema_halflife must be > 0"),
        (dict(ema_halflife="long"), "ema_halflife must be > 0"),
        (dict(ema_halflife=float("nan")), "ema_halflife must be > 0"),
    ],
)
@pytest.mark.parametrize("cls", [GazeCNN, MultimodalGazeCNN])
def test_bad_values_are_one_line_user_errors(cls, bad, match, data, steps):
    X, y = data
    kw = dict(epochs=1, progress=False, device="cpu", random_state=0)
    with pytest.raises(UserError, match=match):
        cls(**kw, **bad).fit(X[:40], y[:40])
    assert steps["lr"] == []  # refused before any training


@pytest.mark.parametrize("cls", [GazeCNN, MultimodalGazeCNN])
def test_the_new_params_round_trip_through_get_params_and_clone(cls):
    set_ = dict(lr_schedule="cosine", weights="ema", ema_halflife=0.25)
    est = cls(**set_)
    params = est.get_params()
    assert {k: params[k] for k in set_} == set_
    assert clone(est).get_params() == params == cls(**params).get_params()
    defaults = cls().get_params()
    assert (defaults["lr_schedule"], defaults["weights"], defaults["ema_halflife"]) == (
        "constant",
        "best",
        0.1,
    )

"""The paper gaze CNN, its training loop, and the timm backbone wrapper."""

import numpy as np
import pytest
import torch

from benchmarks.datasets.demo import render_domain
from estimators import EyeData
from estimators.augment import preprocess
from estimators.cnn import GazeCNN, PaperGazeNet
from estimators.geometry import angular_error_deg
from estimators.timm_backbone import TimmGazeNet
from estimators.torch_train import (
    predict_vectors,
    split_people,
    split_rows,
    to_input,
    validation_split,
)


def test_paper_net_shapes_match_the_paper():
    net = PaperGazeNet()
    assert net.flat_dim == 192 * 5 * 10  # "FC 9600"
    assert net.fc1[0].weight.shape == (1000, 9600)
    out = net(torch.zeros(4, 1, 35, 55), torch.zeros(4, 2))
    assert out.shape == (4, 3)
    assert PaperGazeNet(padding="same").flat_dim == 192 * 8 * 13
    assert PaperGazeNet(head_pose=True).fc2.in_features == 1002
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        PaperGazeNet(padding="full")


def test_to_input_scales_and_resizes():
    img = np.full((2, 36, 60), 255, np.uint8)
    x = to_input(img, (35, 55), "cpu", channels_last=False)
    assert x.shape == (2, 1, 35, 55) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.ones_like(x))
    assert to_input(np.zeros((1, 36, 60), np.uint8), (36, 60), "cpu", False).min() == -1.0


def test_split_rows():
    tr, va = split_rows(100, 0.2, seed=0)
    assert len(va) == 20 and len(tr) == 80 and not set(tr) & set(va)
    assert len(split_rows(10, 0.0, 0)[1]) == 0
    with pytest.raises(ValueError, match="val_fraction"):
        split_rows(10, 1.0, 0)


def test_split_people_holds_out_whole_people():
    subject = np.repeat(np.arange(20), 30)  # 20 people x 30 near-identical views
    for seed in range(5):
        tr, va = split_people(subject, 0.1, seed)
        assert set(subject[tr]).isdisjoint(subject[va])  # no person on both sides
        assert len(set(subject[va])) == 2 and len(va) == 60  # 10 % of the people, all their rows
        assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(len(subject)))
    assert not np.array_equal(split_people(subject, 0.1, 0)[1], split_people(subject, 0.1, 1)[1])
    # at least one person each side, however small the fraction or the crowd
    tr, va = split_people(np.repeat([3, 7], 10), 0.01, 0)
    assert len(set(np.repeat([3, 7], 10)[va])) == 1 and len(tr) == 10
    # unknown people (-1) never go to validation
    mixed = np.concatenate([np.full(50, -1), np.repeat(np.arange(10), 5)])
    tr, va = split_people(mixed, 0.2, 0)
    assert (mixed[va] >= 0).all() and len(set(mixed[va])) == 2


def test_without_people_the_split_is_the_row_split():
    # synthetic renders have no people (-1): their validation split, and so their numbers, stay
    for subject in (np.full(100, -1), np.zeros(100, int)):  # none, or a single person
        tr, va = split_people(subject, 0.2, 4)
        tr0, va0 = split_rows(100, 0.2, 4)
        assert np.array_equal(tr, tr0) and np.array_equal(va, va0)
    assert np.array_equal(validation_split(100, 0.2, 4)[1], split_rows(100, 0.2, 4)[1])
    with pytest.raises(ValueError, match="subject has 5 entries for 100 rows"):
        validation_split(100, 0.2, 4, np.zeros(5, int))


def test_cnn_validation_holds_out_people_when_the_data_names_them():
    d = render_domain("lab", 80, seed=3)
    subject = np.repeat(np.arange(8), 10).astype(np.int32)  # 8 people x 10 rows
    X = EyeData(d["images"], d["head_pitchyaw_rad"], subject)
    kw = dict(width=0.25, epochs=1, batch_size=16, val_fraction=0.25, progress=False,
              precision="fp32", random_state=0)  # fmt: skip
    est = GazeCNN(**kw).fit(X, d["gaze_pitchyaw_rad"])
    tr, va = split_people(subject, 0.25, 0)
    assert len(set(subject[va])) == 2 and est.n_train_used_ == len(tr) == 60
    # without people the same data is split by row: 20 of 80 rows held out
    est = GazeCNN(**kw).fit(X[:], d["gaze_pitchyaw_rad"])  # slicing keeps the people
    assert est.n_train_used_ == 60
    est = GazeCNN(**kw).fit(EyeData(X.images, X.head_pitchyaw_rad), d["gaze_pitchyaw_rad"])
    assert est.n_train_used_ == 80 - 20


def test_eye_data_checks_and_carries_the_person_index():
    d = render_domain("lab", 6, seed=0)
    X = EyeData(d["images"], d["head_pitchyaw_rad"], np.arange(6))
    assert np.array_equal(X[[4, 1]].subject, [4, 1]) and X[2:].subject.shape == (4,)
    assert EyeData(d["images"], d["head_pitchyaw_rad"])[1:].subject is None
    with pytest.raises(ValueError, match=r"X.subject: expected shape \(6,\), got \(5,\)"):
        GazeCNN(epochs=1).fit(
            EyeData(X.images, X.head_pitchyaw_rad, np.arange(5)), d["gaze_pitchyaw_rad"]
        )


@pytest.fixture(scope="module")
def wild_96(tmp_path_factory):
    """96 demo images saved as .npy and reopened memory-mapped, as a Store would hand them over."""
    d = render_domain("wild", 96, seed=21)
    root = tmp_path_factory.mktemp("mm")
    for key in ("images", "head_pitchyaw_rad", "gaze_pitchyaw_rad"):
        np.save(root / f"{key}.npy", d[key])
    load = lambda k: np.load(root / f"{k}.npy", mmap_mode="r")  # noqa: E731
    return EyeData(load("images"), load("head_pitchyaw_rad")), load("gaze_pitchyaw_rad")


def test_fit_on_memory_maps_keeps_the_best_validation_epoch(wild_96):
    X, y = wild_96
    assert isinstance(X.images, np.memmap)
    est = GazeCNN(
        width=0.25, epochs=4, batch_size=16, lr=3e-3, val_fraction=0.25, progress=False,
        precision="fp32", random_state=0,
    ).fit(X, y)  # fmt: skip
    errs = [h["val_err_deg"] for h in est.history_]
    assert len(errs) == 4 and est.best_epoch_ == int(np.argmin(errs))
    # The restored weights are the best epoch's: recomputing the validation error gives it back.
    _, val = split_rows(len(X), 0.25, seed=0)
    vec = predict_vectors(
        est.net_,
        X.images[val],
        X.head_pitchyaw_rad[val],
        input_hw=(35, 55),
        device="cpu",
        bf16=False,
    )
    recomputed = float(angular_error_deg(vec, np.asarray(y[val])).mean())
    assert recomputed == pytest.approx(min(errs), abs=1e-3)
    assert est.train_images_per_s_ > 0 and est.device_ == "cpu"


def test_hist_eq_is_applied_at_predict_time(wild_96):
    """Equalisation depends only on the order of an image's grey levels, so a strictly increasing
    grey-level map (here: shift each image so its darkest pixel is 0) must leave the predictions
    of a hist_eq model bit-for-bit unchanged, while the same model without equalisation at
    predict time sees other pixels and moves."""
    X, y = wild_96
    est = GazeCNN(
        width=0.25, epochs=1, augment="hist_eq", progress=False, precision="fp32", random_state=0
    ).fit(X, y)
    images = np.asarray(X.images)
    darker = EyeData(images - images.min(axis=(1, 2), keepdims=True), X.head_pitchyaw_rad)
    assert (darker.images != images).any(axis=(1, 2)).all()  # every image changed
    np.testing.assert_array_equal(est.predict(darker), est.predict(X))
    # The equalised images are what the network sees: predicting them with the step switched off
    # gives the same numbers, and predicting the raw images that way does not.
    equalised = EyeData(preprocess(images, ("hist_eq",)), X.head_pitchyaw_rad)
    with_step = est.predict(X)
    est.augment_steps_ = ()
    np.testing.assert_array_equal(est.predict(equalised), with_step)
    assert np.abs(est.predict(X) - with_step).max() > 1e-4
    with pytest.raises(ValueError, match="unknown augment step"):
        GazeCNN(augment="mixup", epochs=1, progress=False).fit(X, y)


def test_sgd_and_noise_blur_augment_train(wild_96):
    X, y = wild_96
    est = GazeCNN(
        width=0.25, epochs=1, optimizer="sgd", lr=1e-2, augment="blur+noise", progress=False,
        random_state=1,
    ).fit(X, y)  # fmt: skip
    assert np.isfinite(est.predict(X[:5])).all()
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        GazeCNN(optimizer="lbfgs", epochs=1, progress=False).fit(X, y)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        GazeCNN(epochs=0).fit(X, y)


def test_timm_backbone_wrapper():
    net = TimmGazeNet("resnet18")
    assert net.body.conv1.in_channels == 1
    assert net(torch.zeros(2, 1, 72, 120), torch.zeros(2, 2)).shape == (2, 3)
    with_head = TimmGazeNet("resnet18", head_pose=True)
    assert with_head.fc.in_features == 512 + 2
    with pytest.raises(ValueError, match="unknown timm model 'resnet9000'"):
        TimmGazeNet("resnet9000")


def test_a_row_fits_with_its_training_people_and_predicts_without_anyones(tmp_path, monkeypatch):
    """fit_predict_row hands the estimator the training rows' person index (for a person-split
    validation) and withholds the test people's, so no estimator can use who a test image is."""
    import benchmarks.pipeline.fit_row as fit_row
    from benchmarks.datasets.store import write_store
    from estimators.mean import MeanGaze

    seen = {}

    class Spy(MeanGaze):
        def fit(self, X, y):
            seen["fit"] = None if X.subject is None else np.asarray(X.subject).copy()
            return super().fit(X, y)

        def predict(self, X):
            seen["predict"] = X.subject
            return super().predict(X)

    monkeypatch.setattr(fit_row, "create_estimator", lambda name, **kw: Spy())
    d = render_domain("lab", 12, seed=1)
    stores = {}
    for name, subject in (("train", np.repeat(np.arange(4), 3)), ("test", np.full(12, 9))):
        stores[name] = str(tmp_path / name)
        write_store(
            stores[name], images=d["images"], gaze_pitchyaw_rad=d["gaze_pitchyaw_rad"],
            head_pitchyaw_rad=d["head_pitchyaw_rad"], subject=subject.astype(np.int32),
            source="demo:lab",
        )  # fmt: skip
    idx = np.array([0, 4, 5, 11])
    out = fit_row.fit_predict_row(
        "mean", {}, stores["train"], idx, stores["test"], seed=0,
        preds_path=str(tmp_path / "preds.npz"), threads=1,
    )  # fmt: skip
    assert np.array_equal(seen["fit"], [0, 1, 1, 3]) and seen["predict"] is None
    assert out["n_train"] == 4 and out["n_test"] == 12

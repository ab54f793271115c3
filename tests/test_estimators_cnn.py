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
from estimators.torch_train import predict_vectors, split_rows, to_input


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

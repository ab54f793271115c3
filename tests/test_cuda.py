"""The CUDA paths: bf16 autocast, channels_last, pinned-memory batches and cuDNN's deterministic
kernels, in the refiner (trainer, apply) and the gaze CNN. Tests marked ``cuda`` skip with the
reason on a machine without a GPU; the tests at the end check the same helpers' CPU behaviour."""

import numpy as np
import pytest
import torch

from torchkit.device import autocast, cudnn_deterministic, host_to_device, use_bf16

NO_GPU = not torch.cuda.is_available()


def cuda_test(fn):
    """Mark a test ``cuda`` and skip it, saying why, where no GPU is visible."""
    skip = pytest.mark.skipif(NO_GPU, reason="no CUDA GPU: torch.cuda.is_available() is false")
    return pytest.mark.cuda(skip(fn))


@cuda_test
def test_bf16_autocast_is_the_default_on_cuda_and_computes_in_bf16():
    assert use_bf16("cuda", "auto") and not use_bf16("cuda", "fp32")
    a = torch.randn(8, 8, device="cuda")
    with autocast("cuda", True):
        assert (a @ a).dtype == torch.bfloat16
    assert (a @ a).dtype == torch.float32


@cuda_test
def test_batches_cross_to_the_gpu_from_pinned_memory_unchanged(monkeypatch):
    pinned = []
    real_pin = torch.Tensor.pin_memory
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda t: pinned.append(1) or real_pin(t))
    a = np.arange(2 * 36 * 60, dtype=np.uint8).reshape(2, 36, 60)
    t = host_to_device(a, "cuda")
    torch.cuda.synchronize()  # the copy is non-blocking
    assert pinned and t.is_cuda and t.dtype == torch.uint8
    np.testing.assert_array_equal(t.cpu().numpy(), a)


@cuda_test
def test_cnn_input_is_channels_last_on_cuda():
    from estimators.torch_train import to_input

    x = to_input(np.zeros((4, 36, 60), np.uint8), (35, 55), "cuda", channels_last=True)
    assert x.is_cuda and x.is_contiguous(memory_format=torch.channels_last)


@cuda_test
def test_refiner_trainer_runs_bf16_channels_last_on_cuda(demo, tiny_config):
    from refine.trainer import Trainer

    syn, real = demo("sim")["images"], demo("wild")["images"]
    t = Trainer(syn, real, tiny_config(device="cuda", precision="auto"))
    assert t.bf16 and t.channels_last
    w = next(t.R.parameters())
    assert w.is_cuda and w.is_contiguous(memory_format=torch.channels_last)
    for out in (t.r_step(pretrain=False), t.d_step()):
        assert all(np.isfinite(v) for v in out.values())


@cuda_test
def test_refining_on_cuda_matches_cpu_in_fp32_and_runs_in_bf16(demo):
    from refine.apply import iter_refined
    from refine.networks import Refiner

    torch.manual_seed(0)
    r = Refiner(8, 1, (36, 60), "zeros").eval()
    images = demo("sim")["images"][:32]
    cpu = np.concatenate([y for _, y in iter_refined(r, images, device="cpu", precision="fp32")])
    gpu32 = np.concatenate([y for _, y in iter_refined(r, images, device="cuda", precision="fp32")])
    gpu16 = np.concatenate([y for _, y in iter_refined(r, images, device="cuda", precision="bf16")])
    assert np.abs(cpu.astype(int) - gpu32).max() <= 1  # TF32/rounding: one grey level at most
    assert gpu16.shape == cpu.shape and np.abs(cpu.astype(int) - gpu16).mean() < 2


@cuda_test
def test_cnn_fit_on_cuda_is_deterministic_under_cudnn_deterministic_kernels(demo):
    from estimators import EyeData
    from estimators.cnn import GazeCNN

    d = demo("lab")
    X = EyeData(d["images"], d["head_pitchyaw_rad"])
    y = d["gaze_pitchyaw_rad"]

    def fit_predict():
        est = GazeCNN(width=0.25, epochs=1, batch_size=32, device="cuda", progress=False)
        return est.set_params(random_state=0).fit(X, y).predict(X)

    np.testing.assert_array_equal(fit_predict(), fit_predict())


def test_cudnn_deterministic_sets_then_restores_the_callers_flags():
    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        with cudnn_deterministic():
            assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before


def test_host_to_device_on_cpu_shares_the_array_without_pinning():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = host_to_device(a, "cpu")
    assert not t.is_pinned() and t.data_ptr() == a.__array_interface__["data"][0]


def test_auto_precision_is_fp32_on_every_cpu(monkeypatch):
    """Runs without a GPU: a CPU result must not depend on whether that CPU has bf16 units."""
    import torchkit.device

    for native in (True, False):
        monkeypatch.setattr(torchkit.device, "cpu_has_fast_bf16", lambda native=native: native)
        assert not use_bf16("cpu", "auto")
        assert use_bf16("cpu", "bf16") and not use_bf16("cpu", "fp32")
    with pytest.raises(ValueError, match="precision must be auto, bf16 or fp32"):
        use_bf16("cpu", "fp16")

"""Device and precision choices shared by every torch model (the CNN here, the refiner in refine/).

torch is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import functools


def resolve_device(device: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'. Other names pass through checked:
    a name torch does not know (``gpu``) is a ValueError, a CUDA device that is not there
    (no GPU, or ``cuda:3`` of 1) a RuntimeError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device {device!r} is no torch device; use auto, cpu or cuda[:i]"
        ) from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but no CUDA GPU is visible")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {device!r} requested but only {torch.cuda.device_count()} CUDA GPU(s) "
                "are visible"
            )
    return device


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when this CPU has native bf16 matrix units (AVX512-BF16 or AMX), where bf16
    autocast + channels_last is a real speed-up; on older CPUs it is emulated and slower."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(device: str, precision: str = "auto") -> bool:
    """Whether to autocast to bf16. precision: 'auto' | 'bf16' | 'fp32'.

    'auto' is bf16 on CUDA and fp32 on every CPU. Not bf16 on CPUs with native bf16 units, fast
    as that is: a CPU result must not depend on which CPU ran it. Measured on the smoke table
    (2-core AMD EPYC with AVX512-BF16): in bf16 the refined CNN row came out 11.32 deg vs 11.15
    deg synthetic (the headline flipped, and 1.04 deg off the baseline frozen on an AVX2 machine
    in fp32); in fp32 on the same machine 9.95 vs 10.97, within 0.33 deg of that baseline.
    ``--precision bf16`` still opts in."""
    if precision == "fp32":
        return False
    if precision == "bf16":
        return True
    if precision != "auto":
        raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    return device.startswith("cuda")


def autocast(device: str, enabled: bool):
    """A bf16 autocast context for ``device`` (a no-op context when disabled)."""
    import torch

    if not enabled:
        return contextlib.nullcontext()
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16)


def describe_device(device: str) -> str:
    """A short human/provenance string: 'cpu (2 threads, native bf16)' or the GPU's name
    ('native bf16' says what the CPU has; the precision used is in ``numerics``)."""
    import torch

    if device.startswith("cuda"):
        return f"cuda ({torch.cuda.get_device_name(torch.device(device))})"
    bf16 = ", native bf16" if cpu_has_fast_bf16() else ""
    return f"cpu ({torch.get_num_threads()} threads{bf16})"


_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


@functools.lru_cache(maxsize=1)
def _cpu_model_and_flags() -> tuple[str, tuple[str, ...]]:
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, tuple(f for f in _CPU_FLAGS if f in flags)


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op thread count (None: all cores); returns the count in force.

    The count changes the order of float sums inside matmuls and convolutions, so two runs that
    differ only in threads are not bit-identical: it belongs in every run's provenance."""
    import os

    import torch

    n = int(threads) if threads else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(n)
    return n


def numerics(device: str, bf16: bool | None = None) -> dict:
    """Everything that changes float results between two runs of one config: the torch version,
    its thread count, the precision actually used, the CPU model and SIMD flags (oneDNN picks
    kernels by them) or the GPU name and cuDNN version."""
    import torch

    model, flags = _cpu_model_and_flags()
    out = {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "cpu_model": model,
        "cpu_flags": list(flags),
    }
    if bf16 is not None:
        out["precision"] = "bf16" if bf16 else "fp32"
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(torch.device(device))
        out["cudnn"] = torch.backends.cudnn.version()
    return out


def host_to_device(array, device: str):
    """A numpy batch -> a torch tensor on ``device`` (same dtype). On CUDA the host copy is
    page-locked (pinned) first, so the copy to the GPU is one DMA that does not block the host;
    elsewhere it is torch.from_numpy (no copy) then .to(device)."""
    import numpy as np
    import torch

    t = torch.from_numpy(np.ascontiguousarray(array))
    if device.startswith("cuda"):
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


@contextlib.contextmanager
def cudnn_deterministic(enabled: bool = True):
    """cuDNN picks deterministic kernels (and no autotuned ones: benchmark off) for the block,
    restoring the caller's settings afterwards. No effect on CPU runs."""
    import torch

    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled and before[1]
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before

"""Between store images (uint8 grey, 36x60) and network tensors (float in [-1, 1], input_hw).

Resizing is bilinear with antialiasing (torch ``interpolate``), run on the target device, so a
batch crosses the host/device boundary once, as uint8.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from torchkit.device import host_to_device


def to_tensor(
    images: np.ndarray, hw: tuple[int, int], device: str = "cpu", channels_last: bool = False
) -> torch.Tensor:
    """(k, H0, W0) uint8 -> (k, 1, *hw) float32 in [-1, 1] on ``device`` (resized if needed)."""
    # a copy (memmap-safe), pinned on CUDA so the uint8 batch crosses to the GPU in one DMA
    x = host_to_device(np.array(images, copy=True), device).unsqueeze(1).float()
    x = resize(x, hw) / 127.5 - 1.0
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def resize(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of a (k, 1, H, W) float tensor to ``hw``."""
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=tuple(hw), mode="bilinear", align_corners=False, antialias=True)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(k, 1, H, W) float in [-1, 1] -> (k, H, W) uint8 grey levels (rounded, clipped)."""
    g = ((x.detach().float() + 1.0) * 127.5).round().clamp(0, 255)
    return g[:, 0].to(torch.uint8).cpu().numpy()


def check_images(images: np.ndarray, what: str) -> None:
    """One clear error for arrays that are not (N, H, W) uint8 with N > 0."""
    if not isinstance(images, np.ndarray) or images.ndim != 3 or images.dtype != np.uint8:
        shape = getattr(images, "shape", None)
        dtype = getattr(images, "dtype", type(images).__name__)
        raise ValueError(f"{what}: expected an (N, H, W) uint8 array, got shape {shape} {dtype}")
    if len(images) == 0:
        raise ValueError(f"{what}: no images")

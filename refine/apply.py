"""Run a trained refiner over images in batches (bounded memory; the caller stores the output).

The refiner works at its training resolution ``input_hw`` (35x55, the paper's); stores hold
36x60. Each batch is resized to input_hw (bilinear, antialiased), refined, and mapped back as a
*residual*: ``out = x + resize(R(x') - x', 36x60)`` where x' is the resized input. Where R
changes nothing the stored pixels stay exactly the original ones (no resampling blur added),
and everything R does at 35x55 reaches the 36x60 image, so an estimator that resizes to 35x55
sees (up to rounding) R's own output. A refiner with ``input_light`` refines x' relit with its
image's own draw (refine.light), so ``R(x') - x'`` above reads ``R(light(x')) - x'``: the light
reaches the store with the rest of R's change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from estimators.base import MissingFileError
from refine.config import RefinerConfig
from refine.images import check_images, resize, to_tensor
from refine.networks import make_refiner, relit_input
from torchkit.device import autocast, resolve_device, use_bf16


def image_draws(images: np.ndarray, shape: tuple[int, ...], seed: int, salt: int) -> torch.Tensor:
    """(k, *shape) float32 N(0, 1) draws, one per image of (k, H, W) uint8 ``images``: each
    depends on (seed, salt, the image's bytes) only, so a refined store is the same however it
    is chunked, batched or resumed, and whatever calls ``transform`` (as refine/degrade.py seeds)."""
    out = torch.empty((len(images), *shape))
    for i, im in enumerate(images):
        digest = hashlib.blake2b(np.ascontiguousarray(im).tobytes(), digest_size=8).digest()
        state = np.random.SeedSequence([seed, salt, int.from_bytes(digest, "little")])
        g = torch.Generator().manual_seed(int(state.generate_state(1, np.uint64)[0]))
        out[i] = torch.randn(shape, generator=g)
    return out


def seed_of(refiner: torch.nn.Module) -> int:
    """The run seed behind a loaded refiner's per-image draws (0 for a bare network)."""
    return getattr(refiner, "noise_seed", 0)


def light_draws(refiner: torch.nn.Module, images: np.ndarray) -> torch.Tensor | None:
    """The input light's (k, 3) draws for the (k, H, W) uint8 ``images`` R refines, one per
    image (see image_draws); None for a refiner without an input light."""
    if getattr(refiner, "input_light", None) is None:
        return None
    return image_draws(images, (3,), seed_of(refiner), 3)


def _noise_for(refiner: torch.nn.Module, images: np.ndarray, x: torch.Tensor) -> dict:
    """The random inputs of a refiner that takes them (none for the paper's R(x)) for the
    (k, H, W) uint8 ``images`` behind the batch x: noise channels, and the global light's draw."""
    seed = seed_of(refiner)
    out = {}
    if k := getattr(refiner, "noise_channels", 0):
        out["noise"] = image_draws(images, (k, *x.shape[2:]), seed, 1).to(x.device, x.dtype)
    if k := getattr(refiner, "light_dims", 0):
        out["light_z"] = image_draws(images, (k,), seed, 2).to(x.device, x.dtype)
    return out


def load_refiner(run_dir: str | Path, device: str = "auto") -> torch.nn.Module:
    """The trained R of a run (refiner.pt, else the latest checkpoint) in eval mode on device.

    ``refiner.input_hw`` is the resolution it works at; ``refiner.config_hash`` names the run.
    """
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        raise MissingFileError(f"{run_dir}: not a refiner run (config.json is missing)")
    config = RefinerConfig.from_dict(json.loads(cfg_path.read_text()))
    weights = run_dir / "refiner.pt"
    if weights.is_file():
        state = torch.load(weights, map_location="cpu", weights_only=True)
    elif (run_dir / "checkpoint.pt").is_file():
        from refine.checkpoint import load_checkpoint

        state = load_checkpoint(run_dir)["refiner"]
    else:
        raise MissingFileError(
            f"{run_dir}: no trained refiner (refiner.pt and checkpoint.pt missing)"
        )
    refiner = make_refiner(config)
    refiner.load_state_dict(state)
    refiner.config_hash = config.config_hash()
    refiner.precision = config.precision  # iter_refined applies it as it was trained
    refiner.noise_seed = config.seed  # a noise-input R's draws when refining a store
    device = resolve_device(device)
    fmt = torch.channels_last if use_bf16(device, config.precision) else torch.contiguous_format
    return refiner.to(device, memory_format=fmt).eval()


@torch.no_grad()
def iter_refined(
    refiner: torch.nn.Module,
    images: np.ndarray,
    *,
    start: int = 0,
    batch_size: int = 256,
    device: str = "auto",
    precision: str | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (row_start, refined (k, H, W) uint8) for rows start.. of (N, H, W) uint8 images.

    Reads one batch at a time (images may be a memory map). Output has the input's H x W.
    precision: "auto" | "bf16" | "fp32"; None -> the refiner's own (``refiner.precision``, set by
    load_refiner from its run's config), so a refiner trained in fp32 is applied in fp32.
    """
    check_images(images, "images to refine")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = resolve_device(device)
    refiner = refiner.to(device)
    if precision is None:
        precision = getattr(refiner, "precision", "auto")
    bf16 = use_bf16(device, precision) and next(refiner.parameters()).is_floating_point()
    channels_last = bf16
    hw_in = tuple(getattr(refiner, "input_hw", images.shape[1:]))
    hw_out = tuple(images.shape[1:])
    for s in range(start, len(images), batch_size):
        chunk = np.asarray(images[s : s + batch_size])
        x_full = to_tensor(chunk, hw_out, device)
        x = resize(x_full, hw_in)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x_in = relit_input(refiner, x, light_draws(refiner, chunk))  # the draws: the image's
        with autocast(device, bf16):
            r = refiner(x_in, **_noise_for(refiner, chunk, x)).float()
        y = x_full + resize(r - x, hw_out)
        g = ((y + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)[:, 0]
        yield s, g.cpu().numpy()

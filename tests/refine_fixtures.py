"""Tiny refiner runs shared by the refine tests (seconds, not minutes)."""

from __future__ import annotations

import functools

import pytest
import torch

from refine.config import RefinerConfig

TINY = dict(
    refiner_width=8,
    refiner_blocks=1,
    disc_widths=(8, 8, 8, 8),
    batch_size=8,
    pretrain_r_steps=2,
    pretrain_d_steps=2,
    steps=4,
    buffer_size=16,
    optimizer="adam",
    lr=1e-3,
    checkpoint_every=2,
    sample_every=4,
    log_every=1,
    diag_n=48,
)


def tiny_config(**changes) -> RefinerConfig:
    return RefinerConfig(**{**TINY, **changes})


@functools.lru_cache(maxsize=2)
def demo(domain: str, n: int = 96, seed: int = 0) -> dict:
    from benchmarks.datasets.demo import render_domain

    return render_domain(domain, n, seed=seed)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks lose more to thread synchronisation than they gain (badly so on a shared
    machine): run the refine tests on one thread, then restore the setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

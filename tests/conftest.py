"""Fixtures shared by the test modules (test modules never import each other or this file)."""

from __future__ import annotations

import functools

import pytest

# Tiny refiner runs for the refine tests (seconds, not minutes).
TINY_REFINER = dict(
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
    probe_steps=20,
)


@functools.lru_cache(maxsize=2)
def _render(domain: str, n: int = 96, seed: int = 0) -> dict:
    from benchmarks.datasets.demo import render_domain

    return render_domain(domain, n, seed=seed)


@pytest.fixture(scope="session")
def tiny_refiner_settings() -> dict:
    """The tiny refiner's RefinerConfig fields (a copy: tests may change it)."""
    return dict(TINY_REFINER)


@pytest.fixture(scope="session")
def tiny_config():
    """A factory: tiny_config(**changes) -> the tiny RefinerConfig with changes."""
    from refine.config import RefinerConfig

    return lambda **changes: RefinerConfig(**{**TINY_REFINER, **changes})


@pytest.fixture(scope="session")
def demo():
    """A factory: demo(domain, n=96, seed=0) -> a rendered demo domain (cached)."""
    return _render


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks lose more to thread synchronisation than they gain (badly so on a shared
    machine): run a module's tests on one thread, then restore the setting. Opt in per module
    with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

"""The paper's history buffer of refined images (Shrivastava et al. 2017, Sec. 2.3).

D's "refined" half-batch is half current refined images and half images drawn at random from the
buffer; after each D step the newest refined images are written into the buffer. Until the buffer
is full new images are appended (so it provably fills: ``len(buffer)`` grows by ``k`` per push);
once full they replace random slots. All randomness comes from the numpy Generator passed in, so
a checkpointed generator state reproduces the exact draws.
"""

from __future__ import annotations

import numpy as np
import torch


class HistoryBuffer:
    """Fixed-capacity store of refined images, kept on CPU as float32 (capacity, 1, H, W)."""

    def __init__(self, capacity: int, hw: tuple[int, int]):
        self.capacity = int(capacity)
        self.images = torch.zeros((self.capacity, 1, *hw), dtype=torch.float32)
        self.count = 0  # filled slots: the first ``count`` rows are valid

    def __len__(self) -> int:
        return self.count

    def push(self, refined: torch.Tensor, rng: np.random.Generator) -> None:
        """Add (k, 1, H, W) refined images: fill empty slots first, then replace random ones."""
        refined = refined.detach().float().cpu()
        k = refined.shape[0]
        n_new = min(k, self.capacity - self.count)
        if n_new:
            self.images[self.count : self.count + n_new] = refined[:n_new]
            self.count += n_new
        rest = refined[n_new:]
        if len(rest):
            slots = rng.choice(self.capacity, size=min(len(rest), self.capacity), replace=False)
            self.images[torch.from_numpy(slots)] = rest[: len(slots)]

    def sample(self, k: int, rng: np.random.Generator) -> torch.Tensor:
        """k images drawn uniformly (with replacement) from the filled part; (k, 1, H, W)."""
        if self.count == 0:
            raise ValueError("history buffer is empty")
        idx = rng.integers(0, self.count, size=k)
        return self.images[torch.from_numpy(idx)]

    def state_dict(self) -> dict:
        return {"capacity": self.capacity, "count": self.count, "images": self.images[: self.count]}

    def load_state_dict(self, state: dict) -> None:
        if int(state["capacity"]) != self.capacity:
            raise ValueError(
                f"history buffer: checkpoint capacity {state['capacity']} != config {self.capacity}"
            )
        self.count = int(state["count"])
        self.images.zero_()
        self.images[: self.count] = state["images"]

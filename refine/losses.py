"""SimGAN losses. All are means (see refine.config): over D's patches and the batch for the
cross-entropies, over pixels and the batch for the L1 self-regularisation ([-1, 1] units)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def patch_cross_entropy(logits: torch.Tensor, target_class: int) -> torch.Tensor:
    """Mean cross-entropy of every patch of a (B, 2, h, w) logit map against one class."""
    target = torch.full(
        (logits.shape[0], *logits.shape[2:]), target_class, dtype=torch.long, device=logits.device
    )
    return F.cross_entropy(logits.float(), target)


def self_regularisation(refined: torch.Tensor, synthetic: torch.Tensor) -> torch.Tensor:
    """Mean |R(x) - x| over pixels and batch (identity feature map, as the paper's eye model)."""
    return (refined.float() - synthetic.float()).abs().mean()


def patch_accuracy(logits: torch.Tensor, target_class: int) -> float:
    """Fraction of patches D assigns to ``target_class`` (a diagnostic, no gradient)."""
    return float((logits.argmax(dim=1) == target_class).float().mean())

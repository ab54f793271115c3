"""SimGAN losses, in one of two reductions (``RefinerConfig.loss_reduction``):

- ``"sum"`` (the paper): the cross-entropy *summed* over D's patches and the L1 term summed over
  pixels, each then averaged over the batch (so the scale does not grow with the batch size);
- ``"mean"`` (the light presets): both averaged over patches/pixels and the batch.

The two differ by constant factors (126 patches, 1925 pixels at 35x55), which matter for plain
SGD (the step size scales with them) and set what a given lambda means; Adam is scale-free.
Pixel values are in the network's [-1, 1] units."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def patch_cross_entropy(
    logits: torch.Tensor, target_class: int, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy of every patch of a (B, 2, h, w) logit map against one class: the mean over
    patches and batch, or (``"sum"``) the sum over the h*w patches averaged over the batch."""
    target = torch.full(
        (logits.shape[0], *logits.shape[2:]), target_class, dtype=torch.long, device=logits.device
    )
    loss = F.cross_entropy(logits.float(), target)
    return loss * (logits.shape[2] * logits.shape[3]) if reduction == "sum" else loss


def self_regularisation(
    refined: torch.Tensor, synthetic: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """|R(x) - x| (identity feature map, as the paper's eye model): the mean over pixels and
    batch, or (``"sum"``) the per-image L1 norm averaged over the batch."""
    loss = (refined.float() - synthetic.float()).abs().mean()
    return loss * refined[0].numel() if reduction == "sum" else loss


def patch_accuracy(logits: torch.Tensor, target_class: int) -> float:
    """Fraction of patches D assigns to ``target_class`` (a diagnostic, no gradient)."""
    return float((logits.argmax(dim=1) == target_class).float().mean())

"""Any timm image model as a gaze regressor (``create_estimator("cnn:resnet18")``).

The model is built with ``timm.create_model(name, pretrained=False, in_chans=1, num_classes=3)``:
random initialisation, one grey input channel, a 3-D gaze vector out. Weights are never
downloaded. With ``head_pose=True`` the classifier is dropped (num_classes=0) and a linear layer
maps [pooled features, head pitch/yaw] to the gaze vector instead.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_INPUT_HW = (72, 120)  # 2x the 36x60 patch: leaves a 3x4 map after a stride-32 network


class TimmGazeNet(nn.Module):
    """forward(x (b, 1, h, w), head (b, 2)) -> (b, 3) gaze vectors (not normalised)."""

    def __init__(self, name: str, head_pose: bool = False):
        super().__init__()
        import timm

        if not timm.is_model(name):
            hint = ", ".join(timm.list_models(f"*{name[:4]}*")[:8]) or "see timm.list_models()"
            raise ValueError(f"unknown timm model {name!r} (similar: {hint})")
        self.head_pose = head_pose
        num_classes = 0 if head_pose else 3
        self.body = timm.create_model(name, pretrained=False, in_chans=1, num_classes=num_classes)
        self.fc = nn.Linear(self.body.num_features + 2, 3) if head_pose else None

    def output_layer(self) -> nn.Linear:
        return self.fc if self.fc is not None else self.body.get_classifier()

    def forward(self, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.fc is not None:
            out = self.fc(torch.cat([out, head.to(out.dtype)], dim=1))
        return out

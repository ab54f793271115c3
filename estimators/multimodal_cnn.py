"""Zhang et al.'s (CVPR 2015, MPIIGaze) multimodal CNN: Table 1's "CNN with UT Multiview" (13.9 deg).

The network, as the paper describes it (a LeNet): the 36x60 (H x W) grey eye image ->
conv 5x5, 20 maps -> max-pool 2x2/2 -> conv 5x5, 50 maps -> max-pool 2x2/2 -> fully connected 500
with ReLU; the head angles (pitch, yaw) are concatenated to those 500 values and a final linear
layer regresses the 2 gaze angles (pitch, yaw). Convolutions are unpadded with stride 1 (Caffe's
LeNet): 36x60 -> 32x56 -> 16x28 -> 12x24 -> 6x12, so the flattened map is 50 x 6 x 12 = 3,600.
Eye images are histogram-equalised, as in the paper (``augment="hist_eq"``, also at predict time).

Departures, because training reuses ``estimators.torch_train`` (shared with SimGAN's CNN):

- The loss is the squared distance between unit gaze vectors, not the paper's Euclidean loss on
  the two angles: the network's 2 angle outputs are mapped to a 3-D vector inside ``forward``
  (``estimators.geometry.pitchyaw_to_vector``), so the last layer still outputs pitch and yaw;
  for small errors the two losses agree up to a cos(pitch) weight on yaw.
- Optimiser, learning rate, batch and epochs are not all given in the paper (Caffe SGD);
  ours are Adam and the profile's settings, as for the other CNN (docs/baselines.md).

``head_pose=False`` drops the concatenation (an image-only copy, for ablations and the test that
the head input is used).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from estimators.cnn import GazeCNN
from estimators.geometry import pitchyaw_to_vector

INPUT_HW = (36, 60)


class MultimodalLeNet(nn.Module):
    """forward(x (b, 1, 36, 60), head (b, 2) radians) -> (b, 3) gaze vector from 2 angles."""

    def __init__(self, head_pose: bool = True):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2),
            nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2), nn.Flatten(),
        )  # fmt: skip
        with torch.no_grad():
            self.flat_dim = int(self.features(torch.zeros(1, 1, *INPUT_HW)).shape[1])
        self.fc1 = nn.Sequential(nn.Linear(self.flat_dim, 500), nn.ReLU(inplace=True))
        self.head_pose = head_pose
        self.fc2 = nn.Linear(500 + (2 if head_pose else 0), 2)  # -> (pitch, yaw) radians

    def angles(self, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        """(b, 2) predicted gaze pitch/yaw radians."""
        z = self.fc1(self.features(x))
        if self.head_pose:
            z = torch.cat([z, head.to(z.dtype)], dim=1)
        return self.fc2(z)

    def forward(self, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        return pitchyaw_to_vector(self.angles(x, head).float())


class MultimodalGazeCNN(GazeCNN):
    """Zhang et al. 2015's multimodal CNN ("mpiigaze-cnn"), trained like :class:`GazeCNN`.

    head_pose: concatenate head pitch/yaw before the last layer (True: the paper's network).
    augment: default "hist_eq" (the paper equalises eye images). The other parameters are
    :class:`estimators.cnn.GazeCNN`'s training parameters; the network has no width or backbone.
    """

    def __init__(
        self,
        head_pose: bool = True,
        epochs: int = 10,
        train_samples: int | None = None,
        batch_size: int = 64,
        lr: float = 1e-3,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        val_fraction: float = 0.1,
        lr_schedule: str = "constant",
        weights: str = "best",
        ema_halflife: float = 0.1,
        augment: str = "hist_eq",
        device: str = "auto",
        precision: str = "auto",
        progress: bool = True,
        predict_batch_size: int = 512,
        random_state: int | None = None,
    ):
        self.head_pose = head_pose
        self.epochs = epochs
        self.train_samples = train_samples
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.lr_schedule = lr_schedule
        self.weights = weights
        self.ema_halflife = ema_halflife
        self.augment = augment
        self.device = device
        self.precision = precision
        self.progress = progress
        self.predict_batch_size = predict_batch_size
        self.random_state = random_state

    def _resolved_input_hw(self) -> tuple[int, int]:
        return INPUT_HW

    def _build_net(self, y: np.ndarray) -> nn.Module:
        net = MultimodalLeNet(self.head_pose)
        # Start at the mean training gaze (the shared trainer's bias start assumes 3 outputs):
        # angles are all near zero, and the first epoch would otherwise learn that constant.
        with torch.no_grad():
            net.fc2.bias.copy_(torch.as_tensor(np.asarray(y, np.float32).mean(0)))
        return net

"""The gaze CNN of SimGAN's evaluation (Table 1's CNN rows), and timm backbones by name.

Paper network (Shrivastava et al. 2017, appendix; docs/baselines.md): a 35x55 grey input (the
36x60 patch is resized inside), conv3x3 32 -> conv3x3 32 -> conv3x3 64 -> maxpool 3x3/2 ->
conv3x3 80 -> conv3x3 192 -> maxpool 2x2/2 -> FC 1000 -> FC 3 (gaze vector), ReLU between, L2 loss
to unit vectors. With unpadded ("valid") convs the last map is 192 x 5 x 10 = 9,600 ("FC 9600"),
about 0.18 GFLOP per image forward. Predicted vectors become pitch/yaw with
``estimators.geometry``. The paper gives no optimiser, lr, batch or epochs: ours are parameters
(defaults below).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from estimators.augment import parse_augment
from estimators.base import EyeData, GazeEstimator, UserError
from estimators.geometry import vector_to_pitchyaw
from estimators.torch_train import (
    check_training_choices,
    deterministic,
    fit_net,
    predict_vectors,
    validation_split,
)
from torchkit.device import resolve_device, use_bf16

PAPER_INPUT_HW = (35, 55)
FORWARD_GFLOP_PER_IMAGE = 0.18  # the paper network, valid padding (docs/baselines.md)


class PaperGazeNet(nn.Module):
    """forward(x (b, 1, 35, 55), head (b, 2)) -> (b, 3). padding: "valid" (paper) or "same".

    width multiplies every conv's channel count (1.0 = the paper; smaller only for quick runs).

    head_pose=True concatenates head pitch/yaw to the 1000-d layer before the last FC (as the
    MPIIGaze multimodal CNN does); the SimGAN network itself takes the image only.
    """

    def __init__(self, padding: str = "valid", head_pose: bool = False, width: float = 1.0):
        super().__init__()
        if padding not in ("valid", "same"):
            raise UserError(f"padding must be 'valid' or 'same', got {padding!r}")
        if width <= 0:
            raise UserError(f"width must be > 0, got {width}")
        pad = 0 if padding == "valid" else 1
        c1, c2, c3, c4 = (max(1, round(c * width)) for c in (32, 64, 80, 192))

        def conv(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=pad), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *conv(1, c1), *conv(c1, c1), *conv(c1, c2), nn.MaxPool2d(3, 2),
            *conv(c2, c3), *conv(c3, c4), nn.MaxPool2d(2, 2), nn.Flatten(),
        )  # fmt: skip
        with torch.no_grad():
            self.flat_dim = int(self.features(torch.zeros(1, 1, *PAPER_INPUT_HW)).shape[1])
        self.fc1 = nn.Sequential(nn.Linear(self.flat_dim, 1000), nn.ReLU(inplace=True))
        self.head_pose = head_pose
        self.fc2 = nn.Linear(1000 + (2 if head_pose else 0), 3)

    def output_layer(self) -> nn.Linear:
        return self.fc2

    def forward(self, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        z = self.fc1(self.features(x))
        if self.head_pose:
            z = torch.cat([z, head.to(z.dtype)], dim=1)
        return self.fc2(z)


def build_net(backbone: str, padding: str, head_pose: bool, width: float = 1.0) -> nn.Module:
    """The network: backbone "paper" -> PaperGazeNet; any other name -> a timm model."""
    if backbone == "paper":
        return PaperGazeNet(padding, head_pose, width)
    from estimators.timm_backbone import TimmGazeNet

    return TimmGazeNet(backbone, head_pose)


class GazeCNN(GazeEstimator):
    """CNN gaze regressor ("cnn", or "cnn:<timm model>" through ``backbone``).

    backbone: "paper" or a timm model name. padding: paper net only ("valid" default).
    head_pose: concatenate head pitch/yaw before the last layer. width: paper-net conv channel
        multiplier (1.0 = paper; the CPU test suite uses less to stay fast). input_hw: network input (H, W);
        None -> 35x55 for the paper net, 72x120 for timm models.
    epochs, batch_size, lr, optimizer ("adam" | "sgd", momentum 0.9), weight_decay: training.
    train_samples: a budget in training images seen (overrides epochs; the same for 1x and 4x).
    val_fraction: held-out share of the training people (of the rows, where X carries no people,
        e.g. synthetic renders); with weights="best" the best-validation epoch's weights are kept.
    lr_schedule: "constant" (``lr`` at every step; the default, as before) or "cosine" (per
        optimiser step from ``lr`` down to 0 over the whole budget, epochs x batches).
    weights: which weights the fitted net keeps: "best" (the default, as before: the epoch with
        the lowest validation error in degrees; the last epoch's without validation rows), "last"
        (the final step's) or "ema" (an exponential moving average over the optimiser steps).
        Why the other two: validation rows come from the training source, so the epoch they pick
        follows the split's noise and not the target domain, and a constant lr leaves the last
        weights mid-jump; a decayed lr and an average of the late weights end where training
        settles and should vary less from seed to seed. With "last" and "ema" the validation
        error is still recorded in ``history_`` (of the weights kept) but picks nothing.
    ema_halflife: "ema" only: the average's half-life as a fraction of the budget's optimiser
        steps (0.1: the weights of 10 % of the steps ago count half; the random init's share at
        the end is 0.5^10). A fraction, not a fixed per-step decay, so that the average covers the
        same share of training from a smoke run's tens of steps to a full run's 10^5
        (``estimators.torch_train.ema_decay_for``).
    augment: "none" or "+"-joined "hist_eq", "blur", "noise" (see estimators.augment; hist_eq is
        applied at predict time too). device: "auto" | "cpu" | "cuda[:i]".
    precision: "auto" (bf16 autocast + channels_last on CUDA, fp32 on every CPU: a CPU result
        must not depend on which CPU ran it), "bf16" or "fp32".
    progress: tqdm bar with loss and val error.
    predict_batch_size: inference batch. random_state: seeds init, split, shuffling, augmentation;
        on CPU the same seed gives identical weights and predictions.
    """

    def __init__(
        self,
        backbone: str = "paper",
        padding: str = "valid",
        head_pose: bool = False,
        width: float = 1.0,
        input_hw: tuple[int, int] | None = None,
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
        augment: str = "none",
        device: str = "auto",
        precision: str = "auto",
        progress: bool = True,
        predict_batch_size: int = 512,
        random_state: int | None = None,
    ):
        self.backbone = backbone
        self.padding = padding
        self.head_pose = head_pose
        self.width = width
        self.input_hw = input_hw
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
        if self.input_hw is not None:
            return tuple(self.input_hw)
        if self.backbone == "paper":
            return PAPER_INPUT_HW
        from estimators.timm_backbone import DEFAULT_INPUT_HW

        return DEFAULT_INPUT_HW

    def _fit(self, X: EyeData, y: np.ndarray) -> None:
        steps = parse_augment(self.augment)
        for name in ("epochs", "batch_size", "predict_batch_size"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_training_choices(self.lr_schedule, self.weights, self.ema_halflife)
        seed = (
            int(np.random.SeedSequence().generate_state(1)[0])
            if self.random_state is None
            else int(self.random_state)
        )
        self.device_ = resolve_device(self.device)
        self.bf16_ = use_bf16(self.device_, self.precision)
        self.precision_ = "bf16" if self.bf16_ else "fp32"  # what "auto" resolved to
        self.input_hw_ = self._resolved_input_hw()
        self.augment_steps_ = steps
        # validation holds out whole people where X names them (X.subject), else rows
        subject = None if X.subject is None else np.asarray(X.subject)
        n_fit = len(validation_split(len(y), self.val_fraction, seed, subject)[0])
        self.epochs_ = self.epochs_for(n_fit)
        with torch.random.fork_rng(devices=[]), deterministic():
            torch.manual_seed(seed)  # weight init; fork_rng leaves the caller's RNG untouched
            net = self._build_net(y).to(self.device_)
            if self.bf16_:
                net = net.to(memory_format=torch.channels_last)
            result = fit_net(
                net, X.images, X.head_pitchyaw_rad, y,
                input_hw=self.input_hw_, device=self.device_, bf16=self.bf16_, seed=seed,
                epochs=self.epochs_, batch_size=self.batch_size, lr=self.lr,
                optimizer=self.optimizer, weight_decay=self.weight_decay,
                val_fraction=self.val_fraction, steps=steps, progress=self.progress,
                subject=subject, lr_schedule=self.lr_schedule, weights=self.weights,
                ema_halflife=self.ema_halflife,
            )  # fmt: skip
        self.net_ = net
        self.history_ = result["history"]
        # the epoch whose weights were kept with weights="best"; None with "last" / "ema", where
        # validation picks nothing (the kept weights are the final step's, or their average)
        self.best_epoch_ = result["best_epoch"]
        self.n_steps_ = result["n_steps"]  # optimiser steps of the budget (epochs x batches)
        self.ema_decay_ = result["ema_decay"]  # per-step decay of "ema"'s average, else None
        # rows the weights were fitted on; the validation rows only pick the epoch
        self.n_train_used_ = result["n_fit"]
        self.train_images_per_s_ = result["train_images_per_s"]
        self.is_fitted_ = True

    def _build_net(self, y: np.ndarray) -> nn.Module:
        """The untrained network (called under the fit seed); y (n, 2) pitch/yaw radians lets a
        subclass initialise its output layer. Subclasses with another network override this."""
        return build_net(self.backbone, self.padding, self.head_pose, self.width)

    def epochs_for(self, n_fit: int) -> int:
        """Epochs to run: ``epochs``, or, when ``train_samples`` is set, the epochs that show the
        network about that many training images (n_fit: rows outside the validation split). A
        budget in samples keeps the optimisation the same for a 1x and a 4x training set: 4x
        data then means more distinct images, not 4x the steps (which specialises the network to its training domain)."""
        if self.train_samples is None:
            return int(self.epochs)
        if int(self.train_samples) < 1:
            raise UserError(f"train_samples must be >= 1, got {self.train_samples}")
        return max(1, int(round(int(self.train_samples) / max(1, n_fit))))

    def _predict(self, X: EyeData) -> np.ndarray:
        with deterministic():
            vec = predict_vectors(
                self.net_, X.images, X.head_pitchyaw_rad,
                input_hw=self.input_hw_, device=self.device_, bf16=self.bf16_,
                steps=self.augment_steps_, batch_size=self.predict_batch_size,
            )  # fmt: skip
        return vector_to_pitchyaw(vec)

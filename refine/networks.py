"""SimGAN's refiner R and local discriminator D, exactly as the paper's eye-gaze networks.

Tensors are (B, 1, H, W) float in [-1, 1] (grey level g maps to g / 127.5 - 1); the paper's
input is H x W = 35 x 55. Every conv is "same"-padded (pad = k // 2): R keeps 35x55, and D's two
stride-2 convs take 35x55 -> 18x28 -> 9x14, the paper's 9 x 14 = 126 patches (unpadded convs
would give 8x13).
"""

from __future__ import annotations

import torch
from torch import nn

from refine.light import PoolLight


class ResnetBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, add the input, ReLU (the paper's block, no normalisation)."""

    def __init__(self, width: int, padding_mode: str = "zeros"):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, padding_mode=padding_mode)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class Refiner(nn.Module):
    """R: conv3x3 (1 -> width) + ReLU, ``blocks`` ResNet blocks, conv1x1 (width -> 1), tanh.

    Fully convolutional, no striding or pooling: (B, 1, H, W) in [-1, 1] -> same shape in
    [-1, 1]. ``padding_mode`` "zeros" is Keras' 'same'; "replicate" avoids the dark/bright frame
    a zero-padded refiner can paint along the border (the paper does not say). ``input_hw``
    records the resolution it was trained at (used by refine.apply). ``noise_channels`` > 0 (a
    departure) feeds that many extra N(0, 1) channels beside x: R(x, z) can paint sensor noise and
    texture, which a deterministic R cannot draw from a clean, flat-shaded render.
    """

    def __init__(
        self,
        width: int = 64,
        blocks: int = 4,
        input_hw: tuple[int, int] = (35, 55),
        padding_mode: str = "zeros",
        residual: bool = False,
        noise_channels: int = 0,
        light_dims: int = 0,
        input_light: bool = False,
    ):
        super().__init__()
        self.input_hw = tuple(input_hw)
        self.residual = bool(residual)
        self.noise_channels = int(noise_channels)
        self.light_dims = int(light_dims)
        self.light = GlobalLight(self.light_dims) if self.light_dims else None
        # the real pool's light on the inputs (refine.light); its moments travel with the weights
        self.input_light = PoolLight() if input_light else None
        stem_in = 1 + self.noise_channels
        self.stem = nn.Conv2d(stem_in, width, 3, padding=1, padding_mode=padding_mode)
        self.blocks = nn.Sequential(*[ResnetBlock(width, padding_mode) for _ in range(blocks)])
        self.head = nn.Conv2d(width, 1, 1)
        if self.residual:  # starts as the identity: R(x) = x exactly before any update
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def relight(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """The input R refines for a synthetic batch x (B, 1, H, W) in [-1, 1]: x itself, or x
        relit by the input light with (B, 3) N(0, 1) draws z (None: torch's current RNG). The
        self-regularisation and every "refined vs synthetic" comparison start from this."""
        return x if self.input_light is None else self.input_light(x, z)

    def forward(
        self,
        x: torch.Tensor,
        noise: torch.Tensor | None = None,
        light_z: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x: (B, 1, H, W) in [-1, 1]; noise: (B, noise_channels, H, W) N(0, 1) draws, light_z:
        (B, light_dims) N(0, 1) draws; None draws them from torch's current RNG (each is ignored
        when the refiner has no such input)."""
        if self.noise_channels:
            if noise is None:
                noise = torch.randn(
                    (x.shape[0], self.noise_channels, *x.shape[2:]), device=x.device, dtype=x.dtype
                )
            x_in = torch.cat([x, noise.to(x.dtype)], dim=1)
        else:
            x_in = x
        h = self.head(self.blocks(torch.relu(self.stem(x_in))))
        if self.residual:  # a departure from the paper (its R ends in tanh of the features)
            y = (x + torch.tanh(h)).clamp(-1.0, 1.0)
        else:
            y = torch.tanh(h)
        if self.light is None:
            return y
        if light_z is None:
            light_z = torch.randn((x.shape[0], self.light_dims), device=x.device, dtype=x.dtype)
        return self.light(y, light_z.to(y.dtype))


class GlobalLight(nn.Module):
    """A departure from the paper: a random illumination field over the whole image.

    A fully convolutional R with a receptive field of 11-19 px cannot paint what lights a whole
    eye differently from one image to the next (a brightness gradient across the patch, a global
    gain), and a deterministic R cannot vary it at all. This head maps a per-image draw z to a
    gain g and a linear gradient (a, b) and applies ``grey * g * (1 + a u + b v)`` with u, v in
    [-1, 1] across the patch; its last layer starts at zero, so it starts as the identity, and
    the adversarial loss learns the distribution of lighting. It moves no edge, so it cannot move
    an iris.
    """

    MAX_GRADIENT = 0.5  # |a|, |b| <= 0.5: up to +-50 % across the patch
    MAX_LOG_GAIN = 0.7  # gain in [0.5, 2]

    def __init__(self, dims: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dims, 32), nn.ReLU(), nn.Linear(32, 3))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """y: (B, 1, H, W) in [-1, 1]; z: (B, dims). Returns y relit, same shape, in [-1, 1]."""
        dtype, y = y.dtype, y.float()  # in fp32 even under bf16 autocast: a plane, not steps
        p = torch.tanh(self.mlp(z.float())).float()  # (B, 3) in (-1, 1)
        h, w = y.shape[2:]
        u = torch.linspace(-1.0, 1.0, w, device=y.device).view(1, 1, 1, w)
        v = torch.linspace(-1.0, 1.0, h, device=y.device).view(1, 1, h, 1)
        a, b = (self.MAX_GRADIENT * p[:, i].view(-1, 1, 1, 1) for i in (0, 1))
        gain = torch.exp(self.MAX_LOG_GAIN * p[:, 2]).view(-1, 1, 1, 1)
        grey = (y + 1.0) * 0.5 * gain * (1.0 + a * u + b * v)
        return (grey.clamp(0.0, 1.0) * 2.0 - 1.0).to(dtype)


class LocalDiscriminator(nn.Module):
    """D: conv3x3 s2 (96), conv3x3 s2 (64), maxpool 3x3 s1, conv3x3 (32), conv1x1 (32),
    conv1x1 (2); ReLU after every conv but the last.

    (B, 1, 35, 55) -> logits (B, 2, 9, 14); class 0 = "real", class 1 = "refined". The paper's
    softmax over the 2 channels is applied inside the cross-entropy (``probabilities`` gives it).
    """

    REAL, REFINED = 0, 1

    def __init__(self, widths: tuple[int, int, int, int] = (96, 64, 32, 32)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.net = nn.Sequential(
            nn.Conv2d(1, w1, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(w1, w2, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.Conv2d(w2, w3, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(w3, w4, 1),
            nn.ReLU(),
            nn.Conv2d(w4, 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the 2 channels at every position: (B, 2, h, w), summing to 1."""
        return torch.softmax(self.forward(x).float(), dim=1)


def relit_input(refiner: nn.Module, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
    """What ``refiner`` refines for the synthetic batch x: its ``relight(x, z)`` when it has one
    (a :class:`Refiner`), else x (any other module standing in for R)."""
    relight = getattr(refiner, "relight", None)
    return x if relight is None else relight(x, z)


def build_networks(config) -> tuple[Refiner, LocalDiscriminator]:
    """R and D for a :class:`refine.config.RefinerConfig` (weights from torch's current RNG)."""
    return make_refiner(config), LocalDiscriminator(config.disc_widths)


def make_refiner(config) -> Refiner:
    """R for a :class:`refine.config.RefinerConfig` (untrained)."""
    return Refiner(
        config.refiner_width,
        config.refiner_blocks,
        config.input_hw,
        config.refiner_padding,
        residual=getattr(config, "refiner_residual", False),
        noise_channels=getattr(config, "refiner_noise", 0),
        light_dims=getattr(config, "refiner_light", 0),
        input_light=getattr(config, "input_light", False),
    )


def refiner_flops(width: int, blocks: int, hw: tuple[int, int]) -> float:
    """Multiply-adds x 2 of one refiner forward pass on one image (bias and ReLU ignored)."""
    pixels = hw[0] * hw[1]
    macs = pixels * (9 * width + blocks * 2 * 9 * width * width + width)
    return 2.0 * macs


def discriminator_flops(widths: tuple[int, int, int, int], hw: tuple[int, int]) -> float:
    """Multiply-adds x 2 of one discriminator forward pass on one image ("same" padding)."""
    w1, w2, w3, w4 = widths
    h1, v1 = (hw[0] + 1) // 2, (hw[1] + 1) // 2
    h2, v2 = (h1 + 1) // 2, (v1 + 1) // 2
    macs = h1 * v1 * 9 * w1 + h2 * v2 * (9 * w1 * w2 + 9 * w2 * w3 + w3 * w4 + w4 * 2)
    return 2.0 * macs

"""The one frozen configuration of a SimGAN refiner run.

Defaults are the paper's where it gives them (Shrivastava et al. 2017; see docs/simgan.md) and
documented choices where it does not:

- **Loss reduction: sums, as the paper.** The adversarial terms are the cross-entropy *summed*
  over the 9x14 = 126 patches of D's map; the self-regularisation term is the L1 norm
  ``|R(x) - x|`` summed over the 35x55 = 1925 pixels, in the network's [-1, 1] units (1.0 there
  is 127.5 grey levels); both are averaged over the batch. The light presets use means instead
  (``loss_reduction = "mean"``), with Adam, where the scale does not matter.
- **lambda_reg = 0.0327** (open in the paper): the sum-reduction value that weighs the two terms
  exactly as the presets' tested mean-reduction 0.5 does (0.5 x 126 / 1925); with mean losses
  the reimplementations that work use 0.5-0.75, which lets R change contrast/noise/blur a little
  without rewriting the eye. With summed losses plain SGD at lr 0.001 takes steps 126x those of
  the mean form, which is what makes the paper's optimiser move at all.
- **buffer_size = 25,600** images (open; 50 x the paper's batch of 512), kg = 2 (the "update R
  twice" reading; kg = 50 is reported to collapse), kd = 1.
- **steps = 10,000** main-loop iterations after pretraining (open; what reimplementations use),
  SGD with lr 0.001 and batch 512 ("as in the paper" per the code).

One *step* is one global iteration of a single schedule: the first ``pretrain_r_steps`` steps
train R on self-regularisation only, the next ``pretrain_d_steps`` train D only, and the final
``steps`` each do ``kg`` refiner updates then ``kd`` discriminator updates.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any

from estimators.base import UserError
from torchkit.files import config_hash
from torchkit.typecheck import type_name, type_ok

_TUPLE_FIELDS = ("input_hw", "disc_widths")
# Fields added after runs were written, with the behaviour those runs had: a config.json without
# the field reads as that value, and a config at that value hashes as if the field were absent.
_WRITTEN_BEFORE_THE_FIELD_EXISTED: dict[str, Any] = {
    "loss_reduction": "mean",
    "gaze_consistency": 0.0,
    "gaze_consistency_steps": 600,
    "refiner_noise": 0,
    "refiner_light": 0,
    "grad_clip_norm": 0.0,
    "input_light": False,
}
# Fields added after every cache key was renewed (when every pipeline stage's key moved to one
# key function): a config.json without them was written before they existed and means their
# defaults, which are the behaviour it had; they hash like any other field.
_ADDED_WITH_DEFAULT_BEHAVIOUR = frozenset({"refiner_residual", "match_real_gaze", "probe_steps"})


@dataclass(frozen=True)
class RefinerConfig:
    # -- losses and schedule
    lambda_reg: float = 0.0327  # weight of the L1 self-regularisation (per loss_reduction)
    loss_reduction: str = "sum"  # "sum" over patches/pixels (the paper) | "mean" (light presets)
    buffer_size: int = 25_600  # history buffer of earlier refined images (paper: open)
    kg: int = 2  # refiner updates per main-loop step
    kd: int = 1  # discriminator updates per main-loop step
    pretrain_r_steps: int = 1000  # R on self-regularisation only
    pretrain_d_steps: int = 200  # D only, against the pretrained R
    steps: int = 10_000  # main-loop steps after pretraining
    batch_size: int = 512
    optimizer: str = "sgd"  # "sgd" (plain, the paper's) or "adam" (betas 0.5, 0.999)
    lr: float = 0.001
    # >0: clip R's and D's gradients to this total L2 norm before each update (open: the paper
    # has none; carpedm20's reimplementation clips each tensor's gradient at 50, summed losses)
    grad_clip_norm: float = 0.0
    # -- networks (paper: refiner 64 wide, 4 ResNet blocks; D 96, 64, 32, 32)
    refiner_width: int = 64
    refiner_blocks: int = 4
    refiner_padding: str = "zeros"  # "zeros" (Keras 'same', the reimplementations) | "replicate"
    refiner_residual: bool = False  # departure: R(x) = x + tanh(.), starting at the identity
    # departure: extra N(0, 1) input channels, R(x, z): a clean render holds no randomness that a
    # deterministic R could turn into sensor noise or texture; 0 = the paper's R(x)
    refiner_noise: int = 0
    # departure: a per-image random global illumination (gain, linear gradient) after R, learnt
    # adversarially from a refiner_light-dim draw (refine.networks.GlobalLight); 0 = off
    refiner_light: int = 0
    # departure: R's synthetic inputs relit with draws from the unlabelled real pool's light
    # (the moments of each eye's brightness plane, refine.light.PoolLight, fitted, not learnt)
    input_light: bool = False
    disc_widths: tuple[int, int, int, int] = (96, 64, 32, 32)
    input_hw: tuple[int, int] = (35, 55)
    # -- run
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda[:i]"
    precision: str = "auto"  # "auto" (bf16 on CUDA, fp32 on CPU) | "bf16" | "fp32"
    checkpoint_every: int = 500  # steps; a checkpoint is always written at the end too
    sample_every: int = 500  # steps between sample-grid PNGs
    log_every: int = 10  # steps between rows of losses.csv (means over the interval)
    max_loss: float = 1e5  # any loss above this (or NaN/inf) stops the run: "exploding"
    diag_n: int = 2000  # images per class used by the end-of-run diagnostics
    probe_steps: int = 600  # training steps of the frozen gaze probe (refine.labelcheck)
    # -- stability (refine/selection.py): all off by default, the paper has none of them
    ema_decay: float = 0.0  # >0: refine with an exponential moving average of R's weights
    select_every: int = 0  # >0: score a snapshot every this many adversarial steps, keep the best
    select_n: int = 1000  # images per class a snapshot is scored on
    holdout_real_fraction: float = 0.0  # share of the real pool R and D never see (selection)
    select_max_label_ratio: float = 1.10  # no-refit probe ratio a snapshot may reach
    # -- the layout cue (departure): draw synthetic batches so their gaze matches the real
    # pool's, as a frozen synthetic-trained probe estimates it (no real label is read)
    match_real_gaze: bool = False
    # -- gaze consistency (departure, refine/consistency.py): weight of |G(R(x)) - G(x)|^2 for a
    # frozen, tone-robust gaze regressor G trained on synthetic labels; 0 = off (the paper)
    gaze_consistency: float = 0.0
    gaze_consistency_steps: int = 600  # training steps of G

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):  # a wrong type by name, not an int() traceback later
            if not type_ok(getattr(self, f.name), hints[f.name]):
                raise UserError(
                    f"refiner config: {f.name} must be {type_name(hints[f.name])}, "
                    f"got {getattr(self, f.name)!r}"
                )
        for name in _TUPLE_FIELDS:  # JSON/TOML give lists; keep the dataclass hashable
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        at_least_1 = ("buffer_size", "kg", "kd", "steps", "batch_size", "refiner_width")
        at_least_1 += ("checkpoint_every", "sample_every", "log_every", "diag_n", "probe_steps")
        at_least_0 = (
            "pretrain_r_steps",
            "pretrain_d_steps",
            "refiner_blocks",
            "refiner_noise",
            "refiner_light",
        )
        bounds = {**{n: 1 for n in at_least_1}, **{n: 0 for n in at_least_0}}
        bad = [n for n, low in bounds.items() if int(getattr(self, n)) < low]
        if bad:  # each field with its own bound: "refiner_noise out of range (must be >= 0, ..."
            raise UserError(
                "refiner config: "
                + "; ".join(
                    f"{n} out of range (must be >= {bounds[n]}, got {getattr(self, n)})"
                    for n in bad
                )
            )
        if self.batch_size < 2:
            raise UserError("refiner config: batch_size must be >= 2 (D halves it)")
        if self.optimizer not in ("sgd", "adam"):
            raise UserError(
                f"refiner config: optimizer must be sgd or adam, not {self.optimizer!r}"
            )
        if self.refiner_padding not in ("zeros", "replicate", "reflect"):
            raise UserError(
                f"refiner config: refiner_padding must be zeros, replicate or reflect, "
                f"not {self.refiner_padding!r}"
            )
        if self.precision not in ("auto", "bf16", "fp32"):
            raise UserError(
                f"refiner config: precision must be auto, bf16 or fp32, not {self.precision!r}"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise UserError(f"refiner config: ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.select_every < 0 or self.select_n < 10:
            raise UserError("refiner config: select_every must be >= 0 and select_n >= 10")
        if not 0.0 <= self.holdout_real_fraction < 0.5:
            raise UserError(
                "refiner config: holdout_real_fraction must be in [0, 0.5), "
                f"got {self.holdout_real_fraction}"
            )
        if self.select_every and not self.holdout_real_fraction:
            raise UserError(
                "refiner config: select_every needs holdout_real_fraction > 0 (snapshots are "
                "scored on real images the refiner never trained on)"
            )
        if self.loss_reduction not in ("sum", "mean"):
            raise UserError(
                f"refiner config: loss_reduction must be sum or mean, not {self.loss_reduction!r}"
            )
        if self.gaze_consistency < 0 or self.gaze_consistency_steps < 1:
            raise UserError(
                "refiner config: gaze_consistency must be >= 0 and gaze_consistency_steps >= 1"
            )
        if self.grad_clip_norm < 0:
            raise UserError(
                f"refiner config: grad_clip_norm must be >= 0 (0 = off), got {self.grad_clip_norm}"
            )
        if self.lr <= 0 or self.lambda_reg < 0:
            raise UserError("refiner config: lr must be > 0 and lambda_reg >= 0")
        if len(self.input_hw) != 2 or min(self.input_hw) < 8:
            raise UserError(f"refiner config: input_hw must be (H, W) >= 8, got {self.input_hw}")
        if len(self.disc_widths) != 4 or min(self.disc_widths) < 1:
            raise UserError(
                f"refiner config: disc_widths must be 4 positive ints, got {self.disc_widths}"
            )

    @property
    def total_steps(self) -> int:
        return self.pretrain_r_steps + self.pretrain_d_steps + self.steps

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for name in _TUPLE_FIELDS:
            d[name] = list(d[name])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RefinerConfig:
        """Build from a (possibly partial) dict; unknown keys raise ValueError naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        missing = (known - set(d)) - _ADDED_WITH_DEFAULT_BEHAVIOUR
        if missing and missing <= set(_WRITTEN_BEFORE_THE_FIELD_EXISTED):
            # a whole config.json written before those fields existed: the behaviour it had
            d = {**{k: _WRITTEN_BEFORE_THE_FIELD_EXISTED[k] for k in missing}, **d}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UserError(
                f"unknown refiner config key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**d)

    @classmethod
    def preset(cls, name: str, **changes: Any) -> RefinerConfig:
        """A named light CPU configuration (see PRESETS), optionally changed."""
        if name not in PRESETS:
            raise UserError(f"unknown refiner preset {name!r}; choose from {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **changes})

    def replace(self, **changes: Any) -> RefinerConfig:
        return self.from_dict({**self.to_dict(), **changes})

    def key_dict(self) -> dict[str, Any]:
        """``to_dict`` minus fields still at the value that runs made before they existed had,
        so cache keys of those runs stay valid (a new field with its old behaviour hashes as if
        it were absent)."""
        d = self.to_dict()
        for name, old in _WRITTEN_BEFORE_THE_FIELD_EXISTED.items():
            if d.get(name) == old:
                del d[name]
        return d

    def config_hash(self) -> str:
        """'sha256:' + all 64 digits of torchkit's config_hash of the resolved config (names a
        run's settings in complete.json and in the refined store's key)."""
        return "sha256:" + config_hash(self.key_dict(), length=64)


def parse_override(text: str) -> tuple[str, Any]:
    """'key=value' -> (key, value); the value is parsed as JSON when it can be (numbers, lists,
    true/false), else kept as a string: ``lr=2e-4``, ``optimizer=adam``, ``input_hw=[35,55]``."""
    if "=" not in text:
        raise UserError(f"override {text!r}: expected key=value")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


# Light CPU configurations measured on the demo domain (sim -> wild) on a shared 2-core box:
# "smoke" proves the plumbing in well under 30 s; "quick" is the 3-5 minute run whose refined
# images are measurably closer to wild (README "Refiner"). Networks keep the paper's shape
# (D exactly the paper's; R narrower and shallower); Adam because plain SGD at lr 0.001 barely
# moves in a few hundred steps.
_LIGHT: dict[str, Any] = {
    "loss_reduction": "mean",
    "max_loss": 1e3,
    "refiner_padding": "replicate",
    "optimizer": "adam",
    "lr": 5e-4,
    "lambda_reg": 0.5,
}
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        **_LIGHT,
        "refiner_width": 16,
        "refiner_blocks": 1,
        "batch_size": 32,
        "pretrain_r_steps": 20,
        "pretrain_d_steps": 10,
        "steps": 60,
        "buffer_size": 1024,
        "checkpoint_every": 50,
        "sample_every": 50,
        "log_every": 10,
        "diag_n": 500,
        "probe_steps": 100,
    },
    "quick": {
        **_LIGHT,
        "refiner_width": 32,
        "refiner_blocks": 2,
        "batch_size": 64,
        "pretrain_r_steps": 100,
        "pretrain_d_steps": 50,
        "steps": 600,
        "buffer_size": 6400,
        "checkpoint_every": 200,
        "sample_every": 200,
        "log_every": 20,
        "diag_n": 2000,
        # Stability (the gain swung -8 %..-38 % with the thread count): refine with an EMA
        # of R, and keep the snapshot that is most realistic on held-out real training images
        # while a synthetic-label ridge refit on R(x) stays within 10 % of its error on x.
        "ema_decay": 0.99,
        "select_every": 50,
        "select_n": 1000,
        "holdout_real_fraction": 0.1,
    },
}


# -- the departures, named -----------------------------------------------------------------------
# ``simgan-lit`` (refine/simgan.py, docs/simgan.md "A recipe that keeps the label") is SimGAN
# with these departures on top of whatever config it is given; ``simgan`` is the paper's method.
# They fix what the demo's cause experiments found: a local R cannot paint the eye-to-eye light
# the gaze CNN needs (input_light), a refiner that starts away from the identity moves irises
# (refiner_residual), resampling the residual halves R's texture (input_hw = the store's 36x60),
# and nothing in the paper's losses keeps the gaze (gaze_consistency).
LIT_RECIPE: dict[str, Any] = {
    "input_light": True,
    "refiner_residual": True,
    "input_hw": (36, 60),
    "gaze_consistency": 1.0,
}
# field -> how a row label names it when it is on (the departures RefinerConfig knows)
_DEPARTURE_NAMES: dict[str, str] = {
    "input_light": "real-pool light on R's inputs",
    "refiner_residual": "residual R",
    "gaze_consistency": "gaze consistency",
    "match_real_gaze": "gaze-matched batches",
    "refiner_noise": "noise inputs",
    "refiner_light": "learnt light head",
}
PAPER_INPUT_HW = (35, 55)


def departures(config: RefinerConfig) -> list[str]:
    """The departures from the paper's method that ``config`` switches on, as a label names
    them (sizes, optimiser and loss scale of the light presets are scale, not method)."""
    names = [text for field, text in _DEPARTURE_NAMES.items() if getattr(config, field)]
    if tuple(config.input_hw) != PAPER_INPUT_HW:
        names.append(f"{config.input_hw[0]}x{config.input_hw[1]} input")
    return names

"""The study as data: its design (trials per person, sources, seed, display) and each
participant's trial plan.

A study has one or more *arms*, one per fake source (``refined``, ``synthetic``, a store path).
Every participant gets ``trials_per_person`` trials, split evenly over the arms; each arm's
trials are half held-out real images, half images of its source, and all trials are shuffled
together. Real images are never repeated within a participant, nor are one arm's fake images.

A participant's plan is a pure function of the design, the study's image pools and the
participant id, so nothing but the answers needs saving: a server restarted on the same study
recomputes every plan, and `bench turing report` checks each answer against it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from estimators.base import UserError

INTERPOLATIONS = ("nearest", "bilinear")
REAL, FAKE = "real", "fake"
PARTICIPANT_RE = re.compile(r"^p[0-9a-f]{12}$")  # "p" + 12 hex digits, e.g. p3fa09c21b7d4


@dataclass(frozen=True)
class StudyDesign:
    """What a study asks and shows; written to study.json beside the answers.

    sources: the arm names, as given (``refined``, ``refined:<refiner>``, ``synthetic``, a store
    path); pool_per_source: images drawn once per source (and from the real store) that trials
    sample from; upscale: the display's integer enlargement of the 60x36 images.
    """

    trials_per_person: int = 40
    sources: tuple[str, ...] = ("refined",)
    seed: int = 0
    pool_per_source: int = 200
    upscale: int = 6
    interpolation: str = "nearest"

    def __post_init__(self) -> None:
        arms = len(self.sources)
        if arms == 0:
            raise UserError("a study needs at least one source")
        if len(set(self.sources)) != arms:
            raise UserError(f"sources repeat: {', '.join(self.sources)}")
        if self.trials_per_person < 2 * arms or self.trials_per_person % (2 * arms):
            raise UserError(
                f"trials per person must be a positive multiple of {2 * arms} (half real, half "
                f"fake for each of {arms} source(s)), not {self.trials_per_person}"
            )
        if self.pool_per_source < self.trials_per_person // 2:
            raise UserError(
                f"pool per source ({self.pool_per_source}) must hold at least the "
                f"{self.trials_per_person // 2} real images one person sees"
            )
        if self.interpolation not in INTERPOLATIONS:
            raise UserError(
                f"interpolation must be {' or '.join(INTERPOLATIONS)}, not {self.interpolation!r}"
            )
        if not 1 <= self.upscale <= 20:
            raise UserError(f"upscale must be 1..20, not {self.upscale}")

    @property
    def trials_per_arm(self) -> int:
        return self.trials_per_person // len(self.sources)

    def to_dict(self) -> dict:
        return {**asdict(self), "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, d: dict) -> StudyDesign:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**known, "sources": tuple(known.get("sources", ()))})


@dataclass(frozen=True)
class Trial:
    """One trial of one participant: the image shown and the truth.

    index: 0-based position in the participant's sequence; arm: the fake source this trial
    belongs to (its real half too); source: ``"real"`` or the arm, i.e. the store the image
    comes from; image_row: the image's row in that store; truth: ``"real"`` or ``"fake"``.
    """

    index: int
    arm: str
    source: str
    image_row: int
    truth: str


def participant_seed(participant: str) -> int:
    """The integer behind a participant id (``p`` + 12 hex digits); UserError for any other."""
    if not PARTICIPANT_RE.match(str(participant)):
        raise UserError(f"{participant!r} is not a participant id (p + 12 hex digits)")
    return int(participant[1:], 16)


def plan_trials(
    design: StudyDesign, pools: dict[str, np.ndarray], participant: str
) -> tuple[Trial, ...]:
    """The participant's whole sequence of ``design.trials_per_person`` trials.

    pools: source name (``"real"`` and every arm) -> int64 (k,) store rows the study draws from.
    Deterministic in (design.seed, participant); real rows are distinct across the sequence.
    """
    rng = np.random.default_rng([design.seed, participant_seed(participant)])
    half = design.trials_per_arm // 2
    real_rows = rng.choice(pools[REAL], half * len(design.sources), replace=False)
    trials: list[tuple[str, str, int, str]] = []
    for i, arm in enumerate(design.sources):
        fake_rows = rng.choice(pools[arm], half, replace=False)
        trials += [(arm, REAL, int(r), REAL) for r in real_rows[i * half : (i + 1) * half]]
        trials += [(arm, arm, int(r), FAKE) for r in fake_rows]
    order = rng.permutation(len(trials))
    return tuple(Trial(k, *trials[j]) for k, j in enumerate(order))


def draw_pool(n_images: int, k: int, seed: int, stream: int) -> np.ndarray:
    """k distinct rows (sorted int64) of a store of n_images, drawn with (seed, stream)."""
    rng = np.random.default_rng([seed, stream])
    return np.sort(rng.choice(n_images, min(k, n_images), replace=False)).astype(np.int64)

"""The one cache key of every pipeline stage: :func:`stage_key`.

Every stage's output is found again by a key that hashes, and only hashes, what its numbers are a
function of:

- ``stage`` and that stage's code version (:data:`STAGE_VERSIONS`; bump one to invalidate only
  that stage's caches when its code changes what it computes),
- ``settings``: the *resolved* settings (a refiner's whole ``RefinerConfig`` after preset and
  overrides, an estimator's merged params, sizes, seeds), never how a profile writes them and
  never cosmetic fields (a row's ``label``, ``rs``, ``extra``, ``paper_*``; descriptions),
- ``inputs``: the content checksums of the stores it reads (or the keys of the stages it reads),
- ``numerics``: what changes float results of the same settings on the same inputs: the device
  *kind* (cpu / cuda, not which GPU), the resolved precision (what "auto" became) and the torch
  thread count (:class:`Numerics`); None for stages that run in numpy alone (renders, subsets).

Stages and their keys: demo / real stores under WORK/stores/{demo,real}/, a strict fold's pool
under WORK/stores/strict/, SimGAN's run under WORK/refiner/, its refined store and every other
refiner's fit under WORK/stores/refined/ and WORK/refiner/, each (row, seed) cell's
``stage_key`` in rows.jsonl, and its fitted model's ``fit_key`` under WORK/models/ (the cell's
settings, training store and numerics, not its test store: a model fitted for the development
people is the one that scores the test people). A cell's numerics are the run's whether or not
its estimator uses torch: a numpy row is refit on another device or precision (seconds) rather
than asking every estimator which settings it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from torchkit.files import config_hash

# Bump a stage's version when its code changes what it computes (its cached outputs are then
# made again; the other stages' caches stay). History: cell 3 = the old PIPELINE_VERSION 2 + 1,
# when every key moved to this function (the row key then gained device kind, precision and
# threads and lost the row's label). A change to how cells fit bumps "fit" with "cell" (the kept
# models would otherwise score the new cells).
STAGE_VERSIONS: dict[str, int] = {
    "demo-store": 1,
    "real-store": 1,
    "strict-pool": 1,
    "simgan": 1,
    "refined": 1,
    "refiner-fit": 1,
    "cell": 3,
    "pooled-cell": 1,
    "fit": 1,  # a cell's fitted model (WORK/models/): the cell's key less the test store
}
# A suite row's fields that change no number: they never reach a cell's key
COSMETIC_ROW_FIELDS = ("label", "rs", "extra", "paper_err_deg", "paper_within7_pct")


@dataclass(frozen=True)
class Numerics:
    """What changes a stage's float results beyond its settings and inputs."""

    device: str  # the device kind: "cpu" | "cuda" (any GPU index: same kernels)
    precision: str  # resolved: "fp32" | "bf16"
    threads: int  # torch intra-op threads

    @classmethod
    def resolve(cls, device: str, precision: str | None, threads: int) -> Numerics:
        """From a resolved device ("cpu", "cuda:1"), a requested precision (None / "auto":
        bf16 on CUDA, fp32 on CPUs, as torchkit.device.use_bf16) and the thread count."""
        from torchkit.device import use_bf16

        bf16 = use_bf16(device, precision or "auto")
        return cls(device.split(":", 1)[0], "bf16" if bf16 else "fp32", int(threads))


@dataclass(frozen=True)
class StageSpec:
    """Everything a stage key hashes; ``to_dict()`` is what provenance records."""

    stage: str
    settings: Mapping[str, Any]
    inputs: Mapping[str, str]
    numerics: Numerics | None

    def to_dict(self) -> dict[str, Any]:
        if self.stage not in STAGE_VERSIONS:
            raise KeyError(f"unknown pipeline stage {self.stage!r}")
        return {
            "stage": self.stage,
            "version": STAGE_VERSIONS[self.stage],
            "settings": dict(self.settings),
            "inputs": dict(self.inputs),
            "numerics": None if self.numerics is None else asdict(self.numerics),
        }

    @property
    def key(self) -> str:
        return config_hash(self.to_dict())


def stage_key(
    stage: str,
    settings: Mapping[str, Any],
    inputs: Mapping[str, str],
    numerics: Numerics | None,
) -> str:
    """The cache key (12 hex digits) of ``stage`` run with ``settings`` on ``inputs`` under
    ``numerics`` (see the module doc for what belongs in each)."""
    return StageSpec(stage, settings, inputs, numerics).key


def row_settings(row: Any) -> dict[str, Any]:
    """A suite row's fields minus the cosmetic ones (new SuiteRow fields count by default)."""
    return {k: v for k, v in row.to_dict().items() if k not in COSMETIC_ROW_FIELDS}

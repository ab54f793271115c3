"""What a profile or a suite may say, checked when it is loaded: before any work.

A typo (``n_trian``), a wrong type (``n_lab = "many"``, ``paper_err_deg = "16.5"``), an
out-of-range value (``n_test = -5``, ``seeds = 0``) or an unknown estimator or refiner parameter
(``n_neighbours``, ``epocs``) is refused in one line naming the file, the key and what is
allowed, instead of being ignored (a typo'd size silently trained on the whole pool) or failing
with a traceback after stores were made and a refiner trained.

The allowed keys come from code, never from a list kept here: a profile's own sections are the
frozen dataclasses below (add a key: add a field), ``[refiner]`` is RefinerConfig's fields plus
``kind`` and ``preset`` (its ranges are RefinerConfig's own checks), ``[refiners.NAME]`` and
``[estimators.NAME]`` and a row's ``params`` are the ``get_params()`` names of that refiner or
estimator, and a suite row's keys and types are SuiteRow's.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass, field
from typing import Any

from estimators.base import UserError
from torchkit.typecheck import type_name, type_ok


def _min(n: int) -> Any:
    return {"min": n}


@dataclass(frozen=True)
class ProfileSection:
    name: str = ""
    description: str = ""
    seeds: int = field(default=1, metadata=_min(1))


@dataclass(frozen=True)
class DataSection:
    data_seed: int = field(default=0, metadata=_min(0))


@dataclass(frozen=True)
class DemoSection:  # images rendered per role; required by --data demo (suite.demo_sizes)
    n_sim: int = field(default=1, metadata=_min(1))
    n_lab: int = field(default=1, metadata=_min(1))
    n_wild: int = field(default=1, metadata=_min(1))
    n_test: int = field(default=1, metadata=_min(1))


@dataclass(frozen=True)
class RealSection:
    exclude_people: list[str] = field(default_factory=list)
    unityeyes_near_frontal: bool = False
    utmultiview_parts: list[str] = field(default_factory=lambda: ["synth", "test"])


@dataclass(frozen=True)
class TrainSection:
    n_train: int = field(default=1, metadata=_min(1))  # absent: the whole pool


@dataclass(frozen=True)
class RowsSection:
    skip: list[str] = field(default_factory=list)


SECTIONS: dict[str, type] = {
    "profile": ProfileSection,
    "data": DataSection,
    "demo": DemoSection,
    "real": RealSection,
    "train": TrainSection,
    "rows": RowsSection,
}
OPEN_SECTIONS = ("refiner", "refiners", "estimators")  # checked against code, below


def check_fields(
    table: Any, cls: type, where: str, extra: tuple[str, ...] = (), skip: tuple[str, ...] = ()
) -> None:
    """``table``'s keys are ``cls``'s fields (minus ``skip``, plus ``extra``, checked by the
    caller), each value of the field's type and within its ``metadata`` range."""
    if not isinstance(table, dict):
        raise UserError(f"{where}: must be a table of keys, got {table!r}")
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in dataclasses.fields(cls) if f.name not in skip] + list(extra)
    for key, value in table.items():
        if key not in allowed:
            raise UserError(f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
        if key in extra:
            continue
        tp = hints[key]
        if not type_ok(value, tp):
            raise UserError(f"{where}: {key} must be {type_name(tp)}, got {value!r}")
        low = cls.__dataclass_fields__[key].metadata.get("min")
        if low is not None and value < low:
            raise UserError(f"{where}: {key} must be >= {low}, got {value!r}")


def check_params(kind: str, name: str, params: Any, where: str) -> None:
    """``params`` are parameter names of the registered estimator / refiner ``name``."""
    if not isinstance(params, dict):
        raise UserError(f"{where}: params must be a table, got {params!r}")
    try:
        allowed = param_names(kind, name)
    except UserError as e:  # an unknown or broken estimator / refiner
        raise UserError(f"{where}: {e}") from None
    for key in params:
        if key not in allowed:
            raise UserError(
                f"{where}: {key!r} is not a parameter of {kind} {name!r}; "
                f"allowed: {', '.join(sorted(allowed)) or 'none'}"
            )


@functools.lru_cache(maxsize=64)
def param_names(kind: str, name: str) -> frozenset[str]:
    """The ``get_params()`` names of a registered estimator or refiner (UserError if unknown)."""
    if kind == "estimator":
        from estimators.registry import create_estimator

        made = create_estimator(name)
    else:
        from refine.registry import create_refiner

        made = create_refiner(name)
    return frozenset(k for k in made.get_params() if "__" not in k)


def check_refiner(table: Any, where: str) -> None:
    """``[refiner]``: kind (a registered refiner), preset (RefinerConfig's), then any
    RefinerConfig field, typed as the dataclass says and within RefinerConfig's own checks."""
    from benchmarks.pipeline.refiner_stage import resolved_refiner_config
    from refine.config import PRESETS, RefinerConfig
    from refine.registry import list_refiners

    check_fields(table, RefinerConfig, where, extra=("kind", "preset"))
    kind = table.get("kind", "simgan")
    if kind not in list_refiners():
        raise UserError(f"{where}: kind {kind!r} is no registered refiner; allowed: "
                        f"{', '.join(list_refiners())}")  # fmt: skip
    preset = table.get("preset")
    if preset is not None and preset not in PRESETS:
        raise UserError(f"{where}: preset {preset!r} unknown; allowed: {', '.join(PRESETS)}")
    try:
        resolved_refiner_config({"refiner": table}, 0, "cpu")
    except UserError as e:
        raise UserError(f"{where}: {e}") from None


def check_profile(raw: dict[str, Any], path: Any) -> None:
    """Every section and key of a profile file (see the module doc)."""
    allowed = [*SECTIONS, *OPEN_SECTIONS]
    for section, table in raw.items():
        where = f"{path}: [{section}]"
        if section not in allowed:
            raise UserError(
                f"{path}: unknown section [{section}]; allowed: {', '.join(sorted(allowed))}"
            )
        if section in SECTIONS:
            check_fields(table, SECTIONS[section], where)
        elif section == "refiner":
            check_refiner(table, where)
        else:
            if not isinstance(table, dict):
                raise UserError(f"{where}: must hold [{section}.NAME] tables")
            kind = "refiner" if section == "refiners" else "estimator"
            for name, params in table.items():
                check_params(kind, name, params, f"{path}: [{section}.{name}]")

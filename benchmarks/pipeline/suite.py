"""Suites and profiles as data: TOML files in benchmarks/suites/ and benchmarks/profiles/.

A suite says *what* to run (one entry per table row); a profile says *how big* (sizes, steps,
seeds, per-method defaults). Neither holds code, so adding a row or a profile is editing a file.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from benchmarks.pipeline.schema import check_fields, check_params, check_profile
from benchmarks.records.suite_file import (
    REPORT_KEYS,
    read_toml,
    report_info,
    resolve,
    suite_head,
)
from estimators.base import UserError

TRAIN_SOURCES = ("real-lab", "synthetic", "refined")


@dataclass(frozen=True)
class SuiteRow:
    id: str
    label: str
    method: str
    train: str
    rs: str
    train_scale: int = field(default=1, metadata={"min": 1})
    paper_err_deg: float | None = None
    paper_within7_pct: float | None = None
    extra: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REPORT_LAYOUTS = ("table1", "leaderboard")


@dataclass(frozen=True)
class SuiteDescription:
    """``[suite]`` keys that describe a suite to its reader and that no code reads: ``test``
    (the test set it is scored on) and ``reference`` (what it reproduces)."""

    test: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Suite:
    """A suite file. Report keys of ``[suite]``: ``report`` (file stem of the report,
    default "table1"), ``layout`` ("table1": the paper's table; "leaderboard": refiners ranked
    against ``baseline``), ``baseline`` (the leaderboard's control refiner, default "identity"),
    ``paired`` (table1: [a, b] row-id pairs compared over test people)."""

    name: str
    title: str
    rows: tuple[SuiteRow, ...]
    path: Path
    report: str = "table1"
    layout: str = "table1"
    baseline: str = "identity"
    paired: tuple[tuple[str, str], ...] = ()

    def report_info(self) -> dict[str, Any]:
        """What `bench report` needs from the suite, saved beside the results (suite.json), so
        a report never reloads the suite (a suite given as a path would lose its order)."""
        head = {k: getattr(self, k) for k in REPORT_KEYS}
        return report_info(head, [(r.id, r.extra) for r in self.rows])

    def row(self, row_id: str) -> SuiteRow:
        for r in self.rows:
            if r.id == row_id:
                return r
        raise UserError(f"suite {self.name}: no row {row_id!r}; rows: {', '.join(self.row_ids)}")

    @property
    def row_ids(self) -> list[str]:
        return [r.id for r in self.rows]


def _check_train(train: Any, where: str) -> None:
    """A row's source: real-lab, synthetic, refined, or refined:<a registered refiner>."""
    if isinstance(train, str) and train.startswith("refined:"):
        from refine.registry import list_refiners

        name = train.split(":", 1)[1]
        if name not in list_refiners():
            raise UserError(
                f"{where}: train {train!r} names no registered refiner; "
                f"available: {', '.join(list_refiners())}"
            )
        return
    if train not in TRAIN_SOURCES:
        raise UserError(
            f"{where}: train must be one of {', '.join(TRAIN_SOURCES)} or refined:<refiner>, "
            f"got {train!r}"
        )


def load_suite(name_or_path: str = "table1") -> Suite:
    """Load a suite by name (benchmarks/suites/NAME.toml) or path, validating every row."""
    path = resolve(name_or_path, "suites", "suite")
    raw = read_toml(path)
    unknown = sorted(set(raw) - {"suite", "rows"})
    if unknown:
        raise UserError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}; allowed: rows, suite"
        )
    head = raw.get("suite", {})
    words = tuple(f.name for f in fields(SuiteDescription))
    check_fields(head, Suite, f"{path}: [suite]", extra=words, skip=("rows", "path"))
    described = {k: v for k, v in head.items() if k in words}
    check_fields(described, SuiteDescription, f"{path}: [suite]")
    rows = []
    if not isinstance(raw.get("rows", []), list):
        raise UserError(f"{path}: rows must be [[rows]] tables")
    for i, r in enumerate(raw.get("rows", [])):
        where = f"{path}: row {i + 1} ({r.get('id', '?') if isinstance(r, dict) else '?'})"
        check_fields(r, SuiteRow, where)
        missing = [k for k in ("id", "label", "method", "train", "rs") if k not in r]
        if missing:
            raise UserError(f"{where}: missing key(s) {', '.join(missing)}")
        check_params("estimator", r["method"], r.get("params", {}), f"{where}: params")
        _check_train(r["train"], where)
        if r["rs"] not in ("R", "S"):
            raise UserError(f"{where}: rs must be 'R' or 'S', got {r['rs']!r}")
        rows.append(SuiteRow(**r))
    ids = [r.id for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise UserError(f"{path}: duplicate row id(s) {', '.join(dupes)}")
    if "all" in ids:  # `bench run --rows all` means every row
        raise UserError(f"{path}: 'all' is not a row id (`--rows all` selects every row)")
    if not rows:
        raise UserError(f"{path}: the suite has no [[rows]]")
    layout = head.get("layout", "table1")
    if layout not in REPORT_LAYOUTS:
        raise UserError(f"{path}: [suite] layout must be one of {', '.join(REPORT_LAYOUTS)}")
    paired = head.get("paired", [])
    if not all(isinstance(p, list) and len(p) == 2 for p in paired):
        raise UserError(f"{path}: [suite] paired must be a list of [row_a, row_b] pairs")
    return Suite(
        rows=tuple(rows),
        path=path,
        **suite_head(head, path),
    )


def load_profile(name_or_path: str = "quick") -> dict[str, Any]:
    """Load a profile by name (benchmarks/profiles/NAME.toml) or path; returns the parsed dict.

    Sections, each named for what it governs: ``[profile]`` (name, seeds), ``[data]``
    (``data_seed``, both data modes), ``[demo]`` (render sizes n_sim/n_lab/n_wild/n_test,
    ``--data demo`` only), ``[real]`` (``--data real`` only), ``[train]`` (n_train),
    ``[refiner]``, ``[estimators.<method>]``, ``[rows]``. Optional ones default to empty
    (``data_seed`` to 0); ``[demo]`` is checked when a demo run reads it.
    """
    path = resolve(name_or_path, "profiles", "profile")
    raw = read_toml(path)
    for section in ("profile", "train"):
        if section not in raw:
            raise UserError(f"{path}: missing [{section}] section")
    if "data_seed" in raw.get("demo", {}):  # where it lived before [data]: it governs both modes
        raise UserError(f"{path}: data_seed belongs in [data] (it governs both data modes)")
    check_profile(raw, path)  # unknown keys, wrong types, out-of-range values: before any work
    prof = copy.deepcopy(raw)
    prof["profile"].setdefault("name", path.stem)
    prof.setdefault("data", {}).setdefault("data_seed", 0)
    for section in ("demo", "real", "refiner", "estimators"):
        prof.setdefault(section, {})
    prof.setdefault("rows", {}).setdefault("skip", [])
    prof["_path"] = str(path)
    prof["_config_hash"] = written_config_hash(raw)
    return prof


def written_config_hash(raw: dict[str, Any]) -> str:
    """The hash of a profile as its file writes it, minus ``[profile] description`` (words, not
    settings). Defaults the code fills in are not part of it: a changed default is what `bench
    check` exists to catch as a regression, not a different configuration."""
    from torchkit.files import config_hash

    settings = copy.deepcopy({k: v for k, v in raw.items() if not k.startswith("_")})
    settings.get("profile", {}).pop("description", None)
    return config_hash(settings)


def profile_config_hash(profile: dict[str, Any], eval_split: str = "test") -> str:
    """What a baseline's ``config_hash`` names: the profile as written (its file's hash; a
    profile made in code: its dict's) and the split it is scored on (test or dev people)."""
    from torchkit.files import config_hash

    written = profile.get("_config_hash") or written_config_hash(profile)
    return config_hash({"profile": written, "eval_split": eval_split})


def data_seed(profile: dict[str, Any]) -> int:
    """The profile's data seed (``[data] data_seed``): which training rows each row draws."""
    return int(profile["data"]["data_seed"])


DEMO_SIZES = ("n_sim", "n_lab", "n_wild", "n_test")


def demo_sizes(profile: dict[str, Any]) -> dict[str, int]:
    """``[demo]``'s render sizes (images per role); a UserError names any that is missing."""
    demo = profile.get("demo", {})
    missing = [k for k in DEMO_SIZES if k not in demo]
    if missing:
        where = profile.get("_path", "profile")
        raise UserError(f"{where}: [demo] needs {', '.join(missing)} for --data demo")
    return {k: int(demo[k]) for k in DEMO_SIZES}


def row_params(row: SuiteRow, profile: dict[str, Any]) -> dict[str, Any]:
    """Estimator hyperparameters: the profile's defaults for the method, then the row's own."""
    base = row.method.split(":", 1)[0]
    return {**profile.get("estimators", {}).get(base, {}), **row.params}

"""Suite and profile files as data: where a name resolves to, their TOML, and a suite's report keys.

Checked loading (every key, type and estimator parameter) is ``benchmarks.pipeline.suite``'s job;
this is the part a report needs as well: a results directory written before ``suite.json`` was
saved beside it names its suite, and the report reads that suite's title, order and pairs from
the file, without the pipeline.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from estimators.base import MissingFileError, UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).parents[1]  # benchmarks/: suites/ and profiles/ are data beside it
REPORT_KEYS = ("name", "title", "report", "layout", "baseline", "paired")


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file; a missing file or bad TOML is one UserError line naming it."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise MissingFileError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML ({e})") from None


def resolve(name_or_path: str, folder: str, kind: str) -> Path:
    """A path as given (``*.toml`` or existing), else ``benchmarks/FOLDER/NAME.toml``; an unknown
    name is a UserError listing the ``kind``s there are."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    candidate = PACKAGE_DIR / folder / f"{name_or_path}.toml"
    if not candidate.exists():
        available = sorted(f.stem for f in (PACKAGE_DIR / folder).glob("*.toml"))
        raise UserError(f"unknown {kind} {name_or_path!r}; available: {', '.join(available)}")
    return candidate


def suite_head(head: dict[str, Any], path: Path) -> dict[str, Any]:
    """A suite's ``[suite]`` report keys with their defaults: name and title (the file's stem),
    report ("table1": the file stem of the report), layout ("table1"), baseline ("identity")
    and paired (no pairs), each as a tuple of two row ids."""
    return {
        "name": head.get("name", path.stem),
        "title": head.get("title", path.stem),
        "report": str(head.get("report", "table1")),
        "layout": head.get("layout", "table1"),
        "baseline": str(head.get("baseline", "identity")),
        "paired": tuple((str(a), str(b)) for a, b in head.get("paired", [])),
    }


def report_info(head: dict[str, Any], rows: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    """What `bench report` needs from a suite (saved beside the results as suite.json): the
    report keys of ``head`` (:func:`suite_head`) and the row order, the paper's rows in file
    order, then the extras; ``rows``: (row id, extra) in file order."""
    rows = list(rows)
    ids = [i for i, extra in rows if not extra] + [i for i, extra in rows if extra]
    info = {k: head[k] for k in REPORT_KEYS}
    return {**info, "paired": [list(p) for p in head["paired"]], "row_order": ids}


def read_report_info(name_or_path: str) -> dict[str, Any]:
    """:func:`report_info` of a suite file read as it is written (not checked; a file whose
    rows or pairs are malformed is a UserError)."""
    path = resolve(name_or_path, "suites", "suite")
    raw = read_toml(path)
    try:
        rows = [(str(r["id"]), bool(r.get("extra", False))) for r in raw.get("rows", [])]
        return report_info(suite_head(raw.get("suite", {}), path), rows)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"{path}: not a readable suite ({type(e).__name__}: {e})") from None

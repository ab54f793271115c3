"""What `bench select` writes: ``<target>.csv`` (every config) and ``selection.md`` (the choices).

Both go through :func:`torchkit.files.write_text_atomic` (temporary file, then rename), so an
interrupted run never leaves a half table that looks whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.selection.folds import Folds
from benchmarks.selection.grids import Target
from benchmarks.selection.search import ConfigResult
from torchkit.files import write_text_atomic


@dataclass(frozen=True)
class Outcome:
    """One target's search: every result, the chosen index, the previous default's index."""

    target: Target
    results: list[ConfigResult]
    chosen: int
    previous: int | None
    folds: Folds
    data: str  # the store searched, e.g. "demo:lab, 3,000 of 4,000 rows, sha256:ab12..."


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items()) or "(defaults)"


def target_csv(outcome: Outcome) -> str:
    """CSV text: one row per config in grid order; a column per searched parameter (empty where
    the config's block has none), err_deg (pooled mean, degrees), fold_errs_deg (';'-joined),
    n_folds, split (person / rows), chosen and previous_default flags, fit seconds."""
    keys: list[str] = []
    for r in outcome.results:
        keys += [k for k in r.params if k not in keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["config", *keys, "err_deg", "fold_errs_deg", "n_folds", "split", "chosen",
                "previous_default", "seconds"])  # fmt: skip
    for i, r in enumerate(outcome.results):
        w.writerow(
            [
                i,
                *(_fmt(r.params[k]) if k in r.params else "" for k in keys),
                f"{r.err_deg:.4f}",
                ";".join(f"{e:.4f}" for e in r.fold_errs_deg),
                len(r.fold_errs_deg),
                outcome.folds.kind,
                int(i == outcome.chosen),
                int(i == outcome.previous),
                f"{r.seconds:.1f}",
            ]  # fmt: skip
        )
    return buf.getvalue()


def summary_md(outcomes: list[Outcome], provenance: dict[str, Any], command: str) -> str:
    """selection.md: the chosen config per target against the previous default, then provenance."""
    lines = [
        "# Hyperparameter selection (demo training sources, no target labels)",
        "",
        f"Reproduce: `{command}`. Score: mean angular error (deg) over held-out rows, pooled over",
        "folds; the lowest at 0.001 deg wins, ties to the first config in grid order. Every config's score is",
        "in `<target>.csv` next to this file. No `wild` / test store was read.",
        "",
        "| target | estimator | trained on | chosen | val err (deg) | previous default "
        "| its val err (deg) | split |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        best = o.results[o.chosen]
        prev = o.target.previous
        prev_err = f"{o.results[o.previous].err_deg:.3f}" if o.previous is not None else "n/a"
        lines.append(
            f"| `{o.target.name}` | `{o.target.estimator}` | {o.target.source} "
            f"| {_params(best.params)} | {best.err_deg:.3f} | "
            f"{_params(prev) if prev else 'n/a'} | {prev_err} | {o.folds.describe()} |"
        )
    lines += ["", "## Data searched", ""]
    lines += [f"- `{o.target.name}`: {o.data}; {o.folds.describe()}" for o in outcomes]
    notes = [o for o in outcomes if o.folds.kind == "rows"]
    if notes:
        names = ", ".join(f"`{o.target.name}`" for o in notes)
        lines += [
            "",
            f"{names}: the store has no person ids (every synthetic render is its own random "
            "person), so folds fall back to a seeded row split.",
        ]
    lines += ["", "## Provenance", ""]
    lines += [f"- {k}: `{_fmt(v)}`" for k, v in provenance.items()]
    return "\n".join(lines) + "\n"


def write_outputs(
    out_dir: Path, outcomes: list[Outcome], provenance: dict[str, Any], command: str
) -> list[Path]:
    """Write ``out_dir/<target>.csv`` for each outcome and ``out_dir/selection.md``."""
    paths = [write_text_atomic(out_dir / f"{o.target.name}.csv", target_csv(o)) for o in outcomes]
    paths.append(
        write_text_atomic(out_dir / "selection.md", summary_md(outcomes, provenance, command))
    )
    return paths

"""The report's provenance table: what each row was given, what it used of the target domain,
and where its numbers came from (sha, uncommitted changes, config hash, seeds, device, threads,
precision); and the line naming the command lines and the checkout that made the rows."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _missing(x: Any) -> bool:
    return x is None or bool(pd.isna(x))


def _count(x: Any) -> str:
    return "–" if _missing(x) else f"{int(x):,}"


def _yes_no(x: Any) -> str:
    return "–" if _missing(x) else ("yes" if x else "no")


def made_by_lines(df: pd.DataFrame) -> list[str]:
    """Markdown lines naming the command lines that made the rows and their checkout."""
    # each row's distinct command lines, joined by "; " (aggregate)
    commands = list(
        dict.fromkeys(c for cs in df["command"] if not _missing(cs) for c in cs.split("; "))
    )
    untold = int(df["command"].map(_missing).sum())
    made = "; ".join(f"`{c}`" for c in commands) if commands else "commands not recorded"
    if commands and untold:
        made += f" ({untold} row(s) from before commands were recorded)"
    shas = ", ".join(dict.fromkeys(df["git_sha"]))
    flags = {None if _missing(d) else bool(d) for d in df["git_dirty"]}
    dirty = True if True in flags else (False if flags == {False} else None)
    state = {
        True: "with uncommitted changes",
        False: "clean",
        None: "uncommitted changes not recorded",
    }[dirty]
    return ["", f"Made by {made}, on git {shas} ({state})."]


def provenance_lines(df: pd.DataFrame) -> list[str]:
    """Markdown lines of the ``## Provenance`` table, one line per row of ``aggregate``'s table,
    then the line naming the command lines and the checkout that made the rows."""
    lines = [
        "",
        "## Provenance",
        "",
        "n_train: training images the row was given; n_train_used: those the estimator fitted. "
        "target labelled / unlabelled: target-domain images (MPIIGaze / demo wild) the row used "
        "with labels (none for Table 1) and without (its refiner's real pool; under strict, the "
        "largest fold's); refiner saw test people: whether a refiner behind a prediction had "
        "seen that test person's images (– : no refiner).",
        "",
        "| row | n_train | n_train_used | n_test | target labelled | target unlabelled "
        "| refiner saw test people | fit s | git sha | uncommitted changes | config hash | seeds "
        "| device | threads | precision |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in df.itertuples():
        lines.append(
            f"| {r.row_id} | {r.n_train:,} | {r.n_train_used:,} | {r.n_test:,} "
            f"| {_count(r.target_labelled_n)} | {_count(r.target_unlabelled_n)} "
            f"| {_yes_no(r.refiner_sees_test_people)} | {r.fit_s:.1f} | {r.git_sha} "
            f"| {_yes_no(r.git_dirty)} | {r.config_hash} | {r.seeds} | {r.device} | {r.threads} "
            f"| {r.precision} |"
        )
    return lines + made_by_lines(df)

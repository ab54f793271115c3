"""The report's protocol sentences: which protocol ran, and which real people the refiner saw.

Read from the result rows alone (``protocol``, ``folds``, ``refiner_people``,
``refiner_sees_test_people``, ``test_people``, ``fold_details``; written by `bench run`). Rows
from before these fields existed say "not recorded" rather than guess.
"""

from __future__ import annotations

from typing import Any

POOL = {"real": "MPIIGaze", "demo": "demo wild"}


def compact(names: list[str] | tuple[str, ...]) -> str:
    """A short, readable list of names: all of them up to 6, else 'first, second … last (n)'."""
    names = sorted(names)
    if not names:
        return "-"
    if len(names) <= 6:
        return ", ".join(names)
    return f"{names[0]}, {names[1]} … {names[-1]} ({len(names)})"


def _refined(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("refiner") or str(r["train_source"]).startswith("refined")]


def protocol_lines(rows: list[dict[str, Any]], mode: str) -> list[str]:
    """Two plain sentences (markdown lines, then a blank one): 'Protocol: ...' and
    'Refiner saw: ...'."""
    protocols = sorted({r.get("protocol", "transductive") for r in rows})
    refined = _refined(rows)
    if len(protocols) > 1:
        head = (
            f"Protocol: these rows mix protocols ({', '.join(protocols)}); see `protocol` per row."
        )
    elif protocols == ["strict"]:
        k = max((r.get("folds") or 0 for r in rows), default=0) or "K"
        n_test = len(rows[0].get("test_people") or [])
        head = (
            f"Protocol: strict, {k} person-disjoint folds over the {n_test} test people: each "
            "fold's refiner is fit on the real-unlabelled images minus that fold's test people "
            "and its rows predict that fold's people only; rows without a refiner are fit once; "
            "every test image is scored once, pooled over folds."
        )
    else:
        head = (
            "Protocol: transductive, as the paper: one refiner per seed, fit on every "
            "real-unlabelled image (no labels)."
        )
    return [head, "", _seen_sentence(refined, mode), ""]


def _seen_sentence(refined: list[dict[str, Any]], mode: str) -> str:
    pool = POOL.get(mode, mode)
    if not refined:
        return "Refiner saw: no row uses a refiner, so no row used a target-domain image."
    if any("refiner_people" not in r for r in refined):
        return "Refiner saw: not recorded (rows written before gazebench recorded it)."
    r = refined[0]  # every refined row of a run fits on the same pools
    test = set(r.get("test_people") or [])
    folds = r.get("fold_details")
    if folds:
        sizes = sorted({len(f["refiner_people"]) for f in folds})
        n = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
        leak = any(f["refiner_sees_test_people"] for f in refined_folds(refined))
        tail = "some of that fold's test people (!)" if leak else "none of that fold's test people"
        return f"Refiner saw: per fold, {n} {pool} people, {tail}."
    seen = set(r["refiner_people"])
    both = seen & test
    who = f"all {len(seen)}" if seen and seen >= test and mode == "real" else f"{len(seen)}"
    if not both:
        return (
            f"Refiner saw: {who} {pool} people ({compact(sorted(seen))}), none of them test people."
        )
    inc = f"the {len(both)}" if both == test else f"{len(both)} of the {len(test)}"
    return (
        f"Refiner saw: {who} {pool} people ({compact(sorted(seen))}), including {inc} test "
        "people (transductive, as the paper)."
    )


def refined_folds(refined: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every fold of every refined row (strict rows only)."""
    return [f for r in refined for f in r.get("fold_details") or []]

"""Validation folds for `bench select`: person-disjoint when the store knows its people.

A store's ``subject`` array (int32, -1 = unknown) gives each row's person. With any known person,
folds are scikit-learn's GroupKFold over people (rows of unknown person count as a person each),
so no person is ever on both sides of a fold. With none (demo ``sim``, UnityEyes: every render its
own random person), a seeded shuffled KFold over rows, and the split kind says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold, KFold

from estimators.base import UserError

PERSON, ROWS = "person", "rows"


@dataclass(frozen=True)
class Folds:
    """kind: PERSON or ROWS. splits: (train_rows, val_rows) int64 index pairs, one per fold;
    every row is a validation row exactly once. n_people: distinct known people (0 for ROWS)."""

    kind: str
    splits: list[tuple[np.ndarray, np.ndarray]]
    n_people: int

    def describe(self) -> str:
        """One phrase for reports, e.g. '3-fold person-disjoint (50 people)'."""
        if self.kind == PERSON:
            return f"{len(self.splits)}-fold person-disjoint ({self.n_people} people)"
        return f"{len(self.splits)}-fold seeded row split (no person ids)"


def make_folds(subject: np.ndarray | None, n_rows: int, n_folds: int, seed: int) -> Folds:
    """Folds over ``n_rows`` rows; ``subject`` is (n_rows,) person ids or None (no ids at all).

    seed: shuffles the row split only (GroupKFold is deterministic in the people's sizes).
    """
    if n_folds < 2:
        raise UserError(f"need at least 2 folds, got {n_folds}")
    if n_rows < n_folds:
        raise UserError(f"{n_rows} rows cannot make {n_folds} folds")
    if subject is None:
        subject = np.full(n_rows, -1, np.int64)
    subject = np.asarray(subject, np.int64)
    if subject.shape != (n_rows,):
        raise UserError(f"subject has shape {subject.shape}, expected ({n_rows},)")
    known = subject >= 0
    rows = np.arange(n_rows)
    if not known.any():
        kf = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
        splits = [(tr.astype(np.int64), va.astype(np.int64)) for tr, va in kf.split(rows)]
        return Folds(ROWS, splits, 0)
    n_people = len(np.unique(subject[known]))
    # Unknown-person rows get their own negative ids: each is a group of one.
    groups = np.where(known, subject, -1 - rows)
    if len(np.unique(groups)) < n_folds:
        raise UserError(f"{n_people} people cannot make {n_folds} person-disjoint folds")
    splits = [
        (tr.astype(np.int64), va.astype(np.int64))
        for tr, va in GroupKFold(n_splits=n_folds).split(rows, groups=groups)
    ]
    return Folds(PERSON, splits, n_people)

"""`bench select`: pick each classic estimator's features and hyperparameters without target labels.

Every grid is scored on a validation split of the row's own *training* source (demo ``lab`` for
the R rows, demo ``sim`` for ``knn-synthetic``), never on ``wild`` / test stores:

- :mod:`.grids`  the search spaces, as data, with each estimator's previous default;
- :mod:`.folds`  person-disjoint folds (rows when a store has no people);
- :mod:`.search` the fit / score loop and the argmin;
- :mod:`.writer` ``<target>.csv`` per target and ``selection.md`` (atomic writes);
- :mod:`.run`    what the command does: open the stores, search each target, write.
"""

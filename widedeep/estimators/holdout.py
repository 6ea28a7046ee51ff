"""The validation split of automatic early stopping: which in-memory rows are held out.

`holdout_rows` picks ``round(fraction * n_c)`` rows of every class ``c`` (stratified, for
classification) or ``round(fraction * n)`` rows (regression), by a permutation drawn from
one seed, so the split is the same for the same seed and data. Both index sets come back
sorted; nothing of the data is copied here.
"""
from __future__ import annotations

import numpy as np

__all__ = ["holdout_rows", "check_holdout_possible"]


def _class_rows(y):
    classes, inverse = np.unique(y, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=classes.shape[0])
    return np.split(order, np.cumsum(counts)[:-1])


def _n_held_out(count, fraction):
    return int(round(fraction * count))


def check_holdout_possible(y, fraction, stratify):
    """``None`` if a split of ``fraction`` leaves rows on both sides (of every class, when
    stratified); else a sentence saying why not."""
    y = np.asarray(y)
    groups = _class_rows(y) if stratify else [np.arange(y.shape[0])]
    held = [_n_held_out(group.shape[0], fraction) for group in groups]
    if sum(held) == 0:
        return (f"validation_fraction={fraction} of {y.shape[0]} rows holds out no row")
    if any(h >= group.shape[0] for h, group in zip(held, groups)) \
            or sum(held) >= y.shape[0]:
        return (f"validation_fraction={fraction} of {y.shape[0]} rows leaves no training row"
                + (" of some class" if stratify else ""))
    return None


def holdout_rows(y, fraction, seed, stratify):
    """``(train_rows, held_out_rows)``, sorted int64 arrays partitioning ``range(len(y))``.

    ``seed``: anything `numpy.random.default_rng` accepts. ``stratify``: hold out the same
    fraction of every distinct label (classification).

    >>> train, held = holdout_rows(np.array([0] * 8 + [1] * 4), 0.25, seed=0, stratify=True)
    >>> held.shape[0], int(np.sum(np.array([0] * 8 + [1] * 4)[held]))   # 2 zeros, 1 one
    (3, 1)
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    groups = _class_rows(y) if stratify else [np.arange(y.shape[0])]
    held = [rng.permutation(group)[:_n_held_out(group.shape[0], fraction)]
            for group in groups]
    held = np.sort(np.concatenate(held)).astype(np.int64)
    keep = np.ones(y.shape[0], dtype=bool)
    keep[held] = False
    return np.flatnonzero(keep), held

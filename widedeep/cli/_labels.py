"""What the label column of a file means for each objective: raw values -> training labels.

- "binary": two values -> 0/1. ``classes = [negative, positive]``. ``{0, 1}`` and
  ``{-1, 1}`` keep 1 as the positive class; any other two values are sorted and the
  second is positive (as scikit-learn's ``LabelEncoder``), unless ``positive`` names it.
- "multiclass": K >= 2 values -> class indices 0..K-1 in sorted order (``classes[k]`` is
  class k); K is bounded by ``MAX_CLASSES``.
- "regression": numbers, kept as float64; a non-number or non-finite label is an error.

Numbers are compared as numbers (``"1"`` and ``"1.0"`` are one class), text as text. An
unknown class or a bad value is an error naming the file and the row.
"""
from __future__ import annotations

import numpy as np

from .errors import CliError

__all__ = ["LabelCoding", "OBJECTIVES", "MAX_CLASSES"]

OBJECTIVES = ("binary", "regression", "multiclass")
MAX_CLASSES = 1000


class LabelCoding:
    """Raw label values -> the labels an estimator of ``objective`` trains on (see module).

    ``classes``: the raw value of each class index (None for "regression")."""

    def __init__(self, classes, numeric, objective="binary"):
        if objective not in OBJECTIVES:
            raise CliError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
        self.objective = objective
        self.classes = None if classes is None else list(classes)
        self.numeric = bool(numeric)

    @classmethod
    def learn(cls, values, positive=None, source="the data", objective="binary"):
        """The coding of ``objective`` for the distinct label ``values`` seen in training."""
        if objective == "regression":
            if positive is not None:
                raise CliError("--positive names a class; a regression model has none")
            return cls(None, True, "regression")
        values = np.asarray(values)
        numeric = _all_numbers(values)
        distinct = np.unique(values.astype(np.float64) if numeric else values.astype(str))
        if numeric and not np.isfinite(distinct).all():
            bad = distinct[~np.isfinite(distinct)][0]
            raise CliError(f"{source}: a label is {float(bad)!r}; class labels must be finite "
                           f"numbers or text (drop or fix those rows)")
        if objective == "multiclass":
            if positive is not None:
                raise CliError("--positive is for binary models; a multiclass model keeps "
                               "every class")
            if distinct.shape[0] < 2:
                raise CliError(f"{source}: the labels have a single value "
                               f"{distinct.tolist()}; a classifier needs two classes or more")
            if distinct.shape[0] > MAX_CLASSES:
                raise CliError(f"{source}: {distinct.shape[0]} distinct labels; a multiclass "
                               f"model takes at most {MAX_CLASSES}")
            return cls(distinct.tolist(), numeric, "multiclass")
        if positive is not None:
            positive = float(positive) if numeric else str(positive)
            if positive not in distinct.tolist():
                raise CliError(f"{source}: positive label {positive!r} never occurs; labels "
                               f"seen: {distinct.tolist()[:10]}")
            others = [v for v in distinct.tolist() if v != positive]
            if len(others) > 1:
                raise CliError(f"{source}: binary training needs two label values, found "
                               f"{distinct.tolist()[:10]} (--objective multiclass for more)")
            return cls([others[0] if others else None, positive], numeric)
        if distinct.shape[0] > 2:
            raise CliError(f"{source}: binary training needs two label values, found "
                           f"{len(distinct)}: {distinct.tolist()[:10]} (--objective "
                           f"multiclass or regression for more)")
        if distinct.shape[0] < 2:
            raise CliError(f"{source}: the labels have a single value {distinct.tolist()}; "
                           f"a classifier needs both classes")
        return cls(distinct.tolist(), numeric)

    @property
    def n_classes(self):
        return None if self.classes is None else len(self.classes)

    def encode(self, values, source, first_row=1):
        """float64 training labels [n] (see module). An error names the first bad value's
        data row, counting ``values[0]`` as row ``first_row``."""
        values = np.asarray(values)
        if self.numeric:
            try:
                values = values.astype(np.float64)
            except ValueError:
                row = _first_non_number(values)
                raise CliError(f"{source}, data row {first_row + row}: label "
                               f"{str(values[row])!r} is not a "
                               f"number" + ("" if self.classes is None else
                                            f" (the model was trained on {self.classes})")
                               ) from None
        else:
            values = values.astype(str)
        if self.objective == "regression":
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise CliError(f"{source}, data row {first_row + row}: label "
                               f"{float(values[row])!r} is not a finite number")
            return values
        known = np.asarray(self.classes, dtype=values.dtype)
        order = np.argsort(known)
        position = np.clip(np.searchsorted(known[order], values), 0, known.shape[0] - 1)
        index = order[position]
        unknown = known[index] != values
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise CliError(f"{source}, data row {first_row + row}: label "
                           f"{values[row].item()!r} is not one of the classes {self.classes}")
        return index.astype(np.float64)

    def decode(self, indices):
        """Raw class values of class indices [n] (classifiers)."""
        return np.asarray(self.classes, dtype=object)[np.asarray(indices, dtype=np.int64)]

    def to_dict(self):
        return {"classes": self.classes, "numeric": self.numeric, "objective": self.objective}

    @classmethod
    def from_dict(cls, data):
        return cls(data["classes"], data["numeric"], data.get("objective", "binary"))


def _all_numbers(values):
    if values.dtype.kind in "biuf":
        return True
    try:
        values.astype(np.float64)
        return True
    except (TypeError, ValueError):
        return False


def _first_non_number(values):
    """Row of the first value that does not parse as a float: a binary search over
    prefixes, each converted in one vectorized call (O(log n) calls, no loop over rows)."""
    low, high = 0, values.shape[0]          # the bad row is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            values[low:middle].astype(np.float64)
            low = middle
        except ValueError:
            high = middle
    return low

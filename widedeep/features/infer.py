"""Columns inferred from data: ``columns="auto"`` of the scikit-learn classes and the CLI.

A raw column is *numeric* when its dtype is a number (or boolean), or when it holds text
and every non-missing value of the sample parses as a float; otherwise it is
*categorical*. Then, by the part it must feed (``model``):

============  ==================================================  ==========================
kind          wide part                                           deep part
============  ==================================================  ==========================
numeric       ``NumericColumn(name, wide=True)`` (a linear term)  ``NumericColumn(name)``
              and ``BucketizedColumn("<name>_bucket")`` (10
              quantile buckets)
categorical   ``CategoricalColumn(name, wide=True)``              the same column with
                                                                  ``embedding_dim``
============  ==================================================  ==========================

No crosses are inferred: which pairs to memorize is the user's knowledge (declare
``CrossedColumn`` s, or pass them as ``extra_columns``).
"""
from __future__ import annotations

import numpy as np

from ..records import Ragged
from .bucketized import BucketizedColumn
from .columns import CategoricalColumn
from .numeric import NumericColumn

__all__ = ["infer_columns", "is_numeric_column", "MODELS"]

MODELS = ("wide", "deep", "wide_deep")


def is_numeric_column(values):
    """True if ``values`` (a 1-d array) is a number column or text whose every non-missing
    cell (not ``None``, ``""``, ``"?"``, NaN) parses as a float."""
    if isinstance(values, Ragged):
        return False
    values = np.asarray(values)
    if values.dtype.kind in "iufb":
        return True
    if values.dtype.kind not in "OUS":
        return False
    present = [v for v in values.tolist() if not _is_missing(v)]
    if not present:
        return False
    if any(isinstance(v, (list, tuple, np.ndarray, bool)) for v in present):
        return False
    try:
        np.asarray(present, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in ("", "?")
    if isinstance(value, float):
        return value != value
    return False


def infer_columns(batch, *, model="wide_deep", exclude=(), embedding_dim=8,
                  normalization="standardize", n_buckets=10, numeric_default=None,
                  min_count=1):
    """Feature columns for every raw column of ``batch`` (a dict of columns, e.g. the first
    rows of a file), except those named in ``exclude`` (the label, the weight).

    Parameters
    ----------
    model : {"wide", "deep", "wide_deep"}
        Which parts the columns must feed (see the module docstring).
    embedding_dim : int
        Embedding width of categorical columns in the deep part.
    normalization : str
        `NumericColumn` normalization of numeric columns in the deep part.
    n_buckets : int
        Quantile buckets of numeric columns in the wide part.
    numeric_default : float, optional
        Value used for a missing number (without it a missing number is an error).
    min_count : int
        Minimum count of a category to get its own id (rarer ones share the OOV id).

    Returns a list of columns (in the batch's column order) and the set of raw column
    names found numeric (a file reader must parse those as floats).
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    wide, deep = model in ("wide", "wide_deep"), model in ("deep", "wide_deep")
    columns, numeric = [], set()
    for name, values in batch.items():
        if name in exclude:
            continue
        if is_numeric_column(values):
            numeric.add(name)
            # the number itself: a dense input of the deep part, and a linear term
            # (one coordinate) of the wide part
            columns.append(NumericColumn(name, normalization=normalization,
                                         default=numeric_default, deep=deep, wide=wide))
            if wide:
                columns.append(BucketizedColumn(f"{name}_bucket", source=name,
                                                n_buckets=n_buckets, default=numeric_default))
        else:
            columns.append(CategoricalColumn(name, wide=wide, min_count=min_count,
                                             embedding_dim=embedding_dim if deep else None))
    if not columns:
        raise ValueError(f"no feature columns left to infer: the data has only "
                         f"{sorted(batch)} and {sorted(exclude)} are excluded")
    return columns, numeric

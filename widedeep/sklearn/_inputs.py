"""What the scikit-learn classes accept as ``X``, turned into a dict of raw columns.

- a pandas DataFrame: one raw column per frame column (names as text; strings,
  categories and numbers; missing values as pandas marks them);
- a dict of columns (``{name: 1-d array}``) of equal length;
- a numeric array ``[n, d]`` (anything ``np.asarray`` turns into numbers): columns named
  ``x0 .. x{d-1}``, validated by scikit-learn (finite values, 2-d, at least one row), as
  every scikit-learn estimator does.

The number of columns and their names are remembered at ``fit`` (``n_features_in_``,
``feature_names_in_`` for frames) and checked at ``predict``.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.validation import validate_data

from ..readers.in_memory import columns_from_dataframe, is_dataframe
from ..records import n_rows

__all__ = ["raw_columns", "array_column_names"]


def array_column_names(n_features):
    return [f"x{k}" for k in range(n_features)]


def raw_columns(estimator, X, *, reset):
    """``(columns, n_rows)`` for ``X``; ``reset=True`` (in ``fit``) records the input's
    columns on ``estimator``, ``reset=False`` checks ``X`` against them."""
    if is_dataframe(X) and not issparse(X):
        columns = columns_from_dataframe(X)
        _check_names(estimator, list(columns), reset, "DataFrame")
        return columns, len(X)
    if isinstance(X, Mapping) and not issparse(X):    # (scipy's dok_matrix is a dict)
        columns = {str(name): np.asarray(values) if not hasattr(values, "lengths")
                   else values for name, values in X.items()}
        if not columns:
            raise ValueError("X is an empty dict; expected {column name: values}")
        _check_names(estimator, list(columns), reset, "dict")
        return columns, n_rows(columns)
    array = validate_data(estimator, X, reset=reset, dtype=np.float64,
                          ensure_all_finite=True)
    if reset:
        estimator._input_kind = "array"
    elif getattr(estimator, "_input_kind", "array") != "array":
        raise ValueError(f"{type(estimator).__name__} was fitted on named columns "
                         f"({estimator._input_kind}); predict needs the same columns, got an "
                         f"array")
    names = array_column_names(array.shape[1])
    return {name: array[:, k] for k, name in enumerate(names)}, array.shape[0]


def _check_names(estimator, names, reset, kind):
    if reset:
        estimator._input_kind = kind
        estimator.n_features_in_ = len(names)
        if kind == "DataFrame":
            estimator.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        estimator._column_names = list(names)
        return
    known = getattr(estimator, "_column_names", None)
    if known is None:
        raise ValueError(f"{type(estimator).__name__} was fitted on a numeric array; pass an "
                         f"array with {estimator.n_features_in_} columns")
    missing = [n for n in known if n not in names]
    if missing:
        raise ValueError(f"X is missing column(s) {missing[:10]} seen at fit")

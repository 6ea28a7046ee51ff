"""Casting feature values to the model dtype, checked: a finite float64 such as ``1e300``
becomes ``inf`` in float32, and the model would then predict NaN.

>>> import numpy as np
>>> to_model_dtype(np.array([1.0, 2.5]), "age").tolist()
[1.0, 2.5]
>>> to_model_dtype(np.array([1.0, 1e300]), "age")
Traceback (most recent call last):
...
ValueError: column 'age' row 1: value 1e+300 is not finite as float32 (largest magnitude 3.403e+38)
"""
from __future__ import annotations

import numpy as np

__all__ = ["MODEL_DTYPE", "to_model_dtype"]

MODEL_DTYPE = np.float32
"""dtype of the values `FeatureSpec.transform` produces (dense fields and the
``feature_values`` of sparse fields)."""


def to_model_dtype(values, column, row_of=None, dtype=MODEL_DTYPE):
    """``values`` (float [k]) as ``dtype``; ``ValueError`` naming the column and the row
    if a value is, or becomes, non-finite. ``row_of[k]``: row of value ``k`` (default
    ``k``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        cast = np.asarray(values).astype(dtype, copy=False)
    finite = np.isfinite(cast)
    if not finite.all():
        k = int(np.flatnonzero(~finite)[0])
        row = k if row_of is None else int(row_of[k])
        raise ValueError(f"column {column!r} row {row}: value {float(np.asarray(values)[k])!r} "
                         f"is not finite as {np.dtype(dtype).name} (largest magnitude "
                         f"{float(np.finfo(dtype).max):.4g})")
    return cast

"""Finding non-finite numbers in a fitted model: every parameter and every optimizer state
array (`get_state`), so a NaN embedding row that no holdout example touches is still found.

>>> import numpy as np
>>> from widedeep import SparseInput, WideEstimator
>>> model = WideEstimator({"app": 3}, random_state=0).fit(
...     {"app": SparseInput.from_ids(np.array([0, 1, 2, 0]))}, np.array([1, 0, 1, 1]))
>>> non_finite_parameters(model)
{}
>>> model.wide_.params["app"][2] = np.nan
>>> non_finite_parameters(model)
{'wide/app/w': (1, (2,))}
"""
from __future__ import annotations

import numpy as np

__all__ = ["non_finite_parameters", "describe_non_finite"]


def non_finite_parameters(estimator):
    """``{state key: (count, index of the first one)}`` for every array of
    ``estimator.get_state()`` holding NaN or inf (empty when all are finite)."""
    found = {}
    for key, array in estimator.get_state().items():
        if array.dtype.kind not in "fc":
            continue
        # a float64 sum is finite iff every element is (one pass, no temporary), unless
        # the sum itself overflows, which the exact check then clears
        if np.isfinite(np.add.reduce(array.reshape(-1), dtype=np.float64)):
            continue
        bad = ~np.isfinite(array)
        count = int(np.count_nonzero(bad))
        if count:
            found[key] = (count, tuple(int(i) for i in np.argwhere(bad)[0]))
    return found


def describe_non_finite(found, limit=5):
    """Text for `non_finite_parameters`' result, e.g. ``'deep/embedding/app' has 1 (first
    at (17, 0))``."""
    parts = [f"{key!r} has {count} (first at {index})"
             for key, (count, index) in list(found.items())[:limit]]
    more = len(found) - limit
    return "; ".join(parts) + (f"; and {more} more arrays" if more > 0 else "")

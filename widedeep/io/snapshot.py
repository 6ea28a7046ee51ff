"""In-memory copies of a fitted estimator: what `save_model` writes, without the files.

A snapshot is a plain dict ``{"config": JSON-able constructor config, "state": {key:
ndarray} (get_state(copy=True)), "training_state": JSON-able counters and RNG state}``; it
can cross a process boundary as data (arrays and JSON, no estimator object) and
`estimator_from_snapshot` rebuilds an equal estimator from it. ``copy.deepcopy`` and pickling
an estimator are not safe replacements: they turn the views that tie each table to its
storage block into separate arrays, after which updates and `get_state` disagree.

>>> import numpy as np
>>> from widedeep import SparseInput, WideEstimator
>>> X = {"color": SparseInput.from_ids(np.array([0, 1, 1]), vocab_size=2)}
>>> model = WideEstimator({"color": 2}, epochs=1, random_state=0).fit(X, [0, 1, 1])
>>> twin = estimator_from_snapshot(estimator_snapshot(model))
>>> bool(np.array_equal(twin.predict_proba(X), model.predict_proba(X)))
True
"""
from __future__ import annotations

import copy

from .config import estimator_config, estimator_from_config

__all__ = ["estimator_snapshot", "estimator_from_snapshot"]


def estimator_snapshot(estimator):
    """``{"config", "state", "training_state"}`` of a fitted estimator (arrays copied)."""
    return {"config": estimator_config(estimator),
            "state": estimator.get_state(copy=True),
            "training_state": copy.deepcopy(estimator.get_training_state())}


def estimator_from_snapshot(snapshot):
    """A new estimator equal to the one `estimator_snapshot` recorded."""
    estimator = estimator_from_config(copy.deepcopy(snapshot["config"]), "snapshot config")
    estimator.initialize(allocate_only=True)
    estimator.set_state(snapshot["state"])
    estimator.set_training_state(snapshot["training_state"])
    return estimator

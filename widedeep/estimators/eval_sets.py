"""``eval_set``: the evaluation sets `fit` scores after every epoch, by name.

Accepted forms (each set is in-memory ``(features, y[, sample_weight])`` or a batch source
as `fit` takes: an iterable of batches, or a callable returning one)::

    eval_set=(X_valid, y_valid)                       # one set, named "eval"
    eval_set={"valid": (X_valid, y_valid), "test": test_reader}   # several, in this order

Each set's metrics go into the `history_` record as ``"<name>_<metric>"`` (e.g.
``"valid_auc"``). Early stopping watches the first set, or the one ``early_stopping``
names. The rows automatic early stopping holds out are the set ``"validation"``.
"""
from __future__ import annotations

from ..inputs import SparseInput

__all__ = ["named_eval_sets", "DEFAULT_NAME", "HOLDOUT_NAME", "RESERVED_NAMES"]

DEFAULT_NAME = "eval"
HOLDOUT_NAME = "validation"
RESERVED_NAMES = ("train", "auto", HOLDOUT_NAME)


def _is_set(value):
    """An in-memory ``(features, y[, sw])``, a list of batches, or another batch source."""
    if isinstance(value, (tuple, list)):
        if len(value) in (2, 3) and isinstance(value[0], dict):
            return True                                   # (features, y[, sw])
        return len(value) > 0 and isinstance(value[0], (tuple, list))   # a list of batches
    if isinstance(value, (dict, SparseInput)) or hasattr(value, "shape"):
        return False
    return callable(value) or hasattr(value, "__iter__")


def named_eval_sets(eval_set):
    """``{name: set}`` in order for an ``eval_set`` argument; ``ValueError`` if malformed."""
    if eval_set is None:
        return {}
    if isinstance(eval_set, dict):
        if not eval_set:
            raise ValueError("eval_set is an empty dict; give {name: (features, y)} or None")
        if all(isinstance(v, SparseInput) or hasattr(v, "shape") for v in eval_set.values()):
            raise ValueError("eval_set looks like a feature dict; give (features, y) or "
                             "{name: (features, y), ...}")
        for name, value in eval_set.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"eval_set names must be non-empty strings, got {name!r}")
            if name in RESERVED_NAMES:
                raise ValueError(f"eval_set name {name!r} is reserved ({RESERVED_NAMES}); "
                                 f"choose another")
            if not _is_set(value):
                raise ValueError(f"eval_set[{name!r}] must be (features, y[, sample_weight]) "
                                 f"or a batch source, got {type(value).__name__}")
        return dict(eval_set)
    if not _is_set(eval_set):
        raise ValueError(f"eval_set must be (features, y[, sample_weight]), a batch source or "
                         f"{{name: set}}, got {type(eval_set).__name__}")
    return {DEFAULT_NAME: eval_set}

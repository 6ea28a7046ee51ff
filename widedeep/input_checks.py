"""`validate_fields`: `SparseInput.validate` of many one-hot fields in a few calls.

A model's check of its input validates every sparse field (ids in range, example indices
sorted and in range, values finite). Field by field that is about a dozen small NumPy and
Python calls per field, which dominates scoring a small batch (issue 12: Adult's 22
fields). When every field holds one entry per example (`SparseInput.one_per_example`: the
example indices are ``0 .. n-1``, so they are sorted and in range), the remaining checks
run on all fields at once: the ids as a [fields, n] matrix, their minimum and maximum per
field against the vocabulary sizes, and one float64 sum of all values (finite iff every
value is). Anything else, and any failure, goes to each field's own `validate`, which
raises the exact error naming the field, the example and the value.
"""
from __future__ import annotations

import numpy as np

from .inputs import SparseInput
from .workspace import thread_workspace

__all__ = ["validate_fields"]


def validate_fields(inputs, vocab_sizes, fields):
    """Validate ``inputs[k]`` (`SparseInput`) against ``vocab_sizes[k]`` and name
    ``fields[k]`` in errors; same checks and errors as ``inputs[k].validate(...)``."""
    if len(inputs) > 1 and _all_one_hot(inputs) and _ranges_ok(inputs, vocab_sizes):
        return
    for x, size, field in zip(inputs, vocab_sizes, fields):
        x.validate(size, field=field)


def _all_one_hot(inputs):
    n = inputs[0].n_examples
    for x in inputs:
        if type(x) is not SparseInput or x.n_examples != n or n == 0:
            return False
        if not (x.feature_ids.shape[0] == x.example_indices.shape[0]
                == x.feature_values.shape[0] == n) or not x.one_per_example:
            return False
    return True


def _ranges_ok(inputs, vocab_sizes):
    n, k = inputs[0].n_examples, len(inputs)
    workspace = thread_workspace()   # the calling thread's scratch, never the model's
    ids = np.concatenate([x.feature_ids for x in inputs],
                         out=workspace.array("checks/ids", k * n, np.int64)).reshape(k, n)
    sizes = np.fromiter(vocab_sizes, np.int64, k)
    if np.minimum.reduce(ids, axis=1).min() < 0 or \
            np.any(np.maximum.reduce(ids, axis=1) >= sizes):
        return False
    dtype = np.result_type(*[x.feature_values.dtype for x in inputs])
    values = np.concatenate([x.feature_values for x in inputs],
                            out=workspace.array("checks/values", k * n, dtype))
    return bool(np.isfinite(np.add.reduce(values, dtype=np.float64)))

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

A one-gather path (the wide layer's `wide_gather`, the embedding layer's single gather)
concatenates the same ids and values for its own work; it passes them in (``ids``,
``values``) so that a predict call concatenates each field once, not twice.
"""
from __future__ import annotations

import numpy as np

from .inputs import SparseInput
from .workspace import thread_workspace

__all__ = ["validate_fields", "all_one_hot", "is_one_hot"]


def validate_fields(inputs, vocab_sizes, fields, ids=None, values=None, hot=None):
    """Validate ``inputs[k]`` (`SparseInput`) against ``vocab_sizes[k]`` and name
    ``fields[k]`` in errors; same checks and errors as ``inputs[k].validate(...)``.

    ``ids`` (int [k, n]) and ``values`` ([k n]): the fields' feature ids and values already
    concatenated field after field by a caller that has found every field one-hot
    (`all_one_hot`); None: concatenated here.

    Without them, the one-hot fields among several others (e.g. a ranking request's
    candidate fields next to a cross bag) are still checked together, the others field by
    field; on any failure every field is checked in order, so the error is the first
    failing field's own."""
    if ids is not None:
        if _ranges_ok(inputs, vocab_sizes, ids, values):
            return
        rest = range(len(inputs))
    else:
        if hot is None:
            n = inputs[0].n_examples if inputs else 0
            hot = [k for k, x in enumerate(inputs) if is_one_hot(x, n)]
        ok = len(hot) > 1 and _ranges_ok([inputs[k] for k in hot],
                                         [vocab_sizes[k] for k in hot])
        rest = sorted(set(range(len(inputs))) - set(hot)) if ok else range(len(inputs))
    for k in rest:
        inputs[k].validate(vocab_sizes[k], field=fields[k])


def all_one_hot(inputs):
    """Whether every input is a `SparseInput` of the same ``n >= 1`` examples holding one
    entry per example (`SparseInput.one_per_example`, triplet lengths all ``n``): the
    layout the all-fields-at-once checks and gathers need."""
    n = inputs[0].n_examples
    for x in inputs:
        if not is_one_hot(x, n):
            return False
    return True


def is_one_hot(x, n):
    """Whether ``x`` is a `SparseInput` of ``n >= 1`` examples, one entry each."""
    return type(x) is SparseInput and x.n_examples == n and n > 0 and \
        x.feature_ids.shape[0] == x.example_indices.shape[0] == x.feature_values.shape[0] \
        == n and (x._one_per_example or x._one_per_example is None and x.one_per_example)

def _ranges_ok(inputs, vocab_sizes, ids=None, values=None):
    n, k = inputs[0].n_examples, len(inputs)
    workspace = thread_workspace()   # the calling thread's scratch, never the model's
    if ids is None:
        ids = np.concatenate([x.feature_ids for x in inputs], out=workspace.array(
            "checks/ids", k * n, np.int64)).reshape(k, n)
    # 0 <= id < size in one reduction per field: read as unsigned, a negative id is larger
    # than any size. The ufuncs directly: their Python-level wrappers (ndarray.max, np.all,
    # np.result_type of many dtypes) cost more than the arithmetic on serving's batches
    if ids.dtype != np.int64 or not ids.flags.c_contiguous:
        ids = ids.astype(np.int64, order="C")
    if not np.logical_and.reduce(np.less(np.maximum.reduce(ids.view(np.uint64), axis=1),
                                         np.fromiter(vocab_sizes, np.uint64, k))):
        return False
    if values is None:
        dtypes = {x.feature_values.dtype for x in inputs}
        dtype = dtypes.pop() if len(dtypes) == 1 else np.result_type(*dtypes)
        values = np.concatenate([x.feature_values for x in inputs],
                                out=workspace.array("checks/values", k * n, dtype))
    # finite iff every value is, unless the sum itself overflows: then each field's own
    # exact check runs (and passes)
    return bool(np.isfinite(np.add.reduce(values, axis=None)))

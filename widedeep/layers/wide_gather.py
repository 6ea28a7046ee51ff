"""The wide part of a batch in one gather (issue 12): every field's weights fetched by one
``np.take`` over the layer's contiguous weight array, and the logits summed in one
reduction, instead of a gather, a product and a sum per field.

It applies when every field has a **fixed number of entries per example** ``L_f >= 1`` (a
one-hot field: 1; a fixed-width bag of crosses: e.g. 10), the model has one output and
the layer owns its contiguous weights (not a served, memory-mapped model). Then, with
``c_k = w[coord_k] v_k`` the float products of the entries::

    logit_i = b + sum_f s_f(i),     s_f(i) = sum_{l < L_f} c_{f, i, l}   (float64)

The sums are added in exactly the order of `WideLayer.field_logits` field by field: from
the bias, field after field; a bag's entries first among themselves in their order (what
``np.bincount`` does), then into the logit. A reduction over the leading axis of a
C-contiguous ``[rows, n]`` array adds the rows one after another, so the results are
bit-identical to the field-by-field path (tests/layers/test_wide_gather.py).

The entries are laid out as the field-by-field path concatenates them (field order, then
entry order), so the coordinate gradients sum the same entries in the same order too.
"""
from __future__ import annotations

import numpy as np

from ..input_checks import all_one_hot
from ..workspace import empty

__all__ = ["fixed_widths", "gather_entries", "fused_logits", "entry_gradients",
           "field_terms", "logits_with_query"]


def fixed_widths(layer, features, one_hot=None):
    """``[(x, L_f)]`` per field of ``layer`` when the batch qualifies (see the module
    doc), else None. ``one_hot``: `all_one_hot` of the layer's fields if the caller knows
    it."""
    if layer.n_outputs != 1 or layer._weights is None or not layer.field_sizes:
        return None
    inputs = [features[field] for field in layer.field_sizes]
    n, dtype = inputs[0].n_examples, inputs[0].feature_values.dtype
    if one_hot is None:
        one_hot = all_one_hot(inputs)
    if one_hot and all(x.feature_values.dtype == dtype for x in inputs):
        return [(x, 1) for x in inputs]   # the common case in one pass
    out = []
    for x in inputs:
        if x.n_examples != n or x.feature_values.dtype != dtype or n == 0:
            return None
        if x.one_per_example:
            out.append((x, 1))
            continue
        width, rest = divmod(x.nnz, n)
        if rest or width == 0 or not np.array_equal(
                x.indptr, np.arange(0, x.nnz + 1, width, dtype=x.indptr.dtype)):
            return None
        out.append((x, width))
    return out


def gather_entries(layer, layout, workspace=None, validate=False):
    """``(coords [nnz], values [nnz])``: every entry's contiguous coordinate and feature
    value, field after field (each field's entries in their order). ``validate=True`` (every
    field one-hot): the ids and values are checked (`WideLayer.validate_values`) on their
    concatenation, before anything is gathered."""
    n = layout[0][0].n_examples
    nnz = sum([x.feature_ids.shape[0] for x, _ in layout])
    coords = np.concatenate([x.feature_ids for x, _ in layout],
                            out=empty(workspace, "wide/coords", nnz, np.int64))
    values = np.concatenate([x.feature_values for x, _ in layout],
                            out=empty(workspace, "wide/values", nnz,
                                      layout[0][0].feature_values.dtype))
    if validate:
        layer.validate_values({field: x for field, (x, _) in zip(layer.field_sizes, layout)},
                              coords.reshape(len(layout), n), values)
    offsets = np.fromiter(layer.offsets.values(), np.int64, len(layout))
    if nnz == n * len(layout):   # every field one-hot: [F, n] rows
        coords.reshape(len(layout), n)[...] += offsets[:, None]
    else:   # field by field, in place (np.repeat of the offsets would allocate [nnz])
        start = 0
        for (x, _), offset in zip(layout, offsets.tolist()):
            coords[start:start + x.nnz] += offset
            start += x.nnz
    return coords, values


def fused_logits(layer, layout, workspace=None, validate=False):
    """The wide logits [n] (float64) of a qualifying batch, bit-identical to adding
    `WideLayer.field_logits` field by field from the bias (``validate``: see
    `gather_entries`)."""
    n = layout[0][0].n_examples
    coords, values = gather_entries(layer, layout, workspace, validate)
    # ids were validated in range: mode="clip" changes nothing and writes straight into
    # the output (mode="raise" gathers into a temporary first)
    products = layer._weights.take(coords, mode="clip", out=empty(
        workspace, "wide/products", coords.shape, layer.dtype))
    if values.dtype != products.dtype and np.result_type(products, values) != products.dtype:
        products = products.astype(np.result_type(products, values))
    np.multiply(products, values, out=products)
    terms = empty(workspace, "wide/terms", (len(layout) + 1, n), np.float64)
    terms[0] = layer.params["bias"][0]
    if coords.shape[0] == n * len(layout):   # every field one-hot: one copy of all rows
        terms[1:] = products.reshape(len(layout), n)
        return np.add.reduce(terms, axis=0, out=empty(workspace, "wide/logits", n,
                                                       np.float64))
    start = 0
    for row, (x, width) in enumerate(layout, start=1):
        stop = start + x.nnz
        if width == 1:
            terms[row] = products[start:stop]
        else:
            # the bag's entries [n, L] as rows [L, n], summed row after row into terms[row]
            bag = empty(workspace, "wide/bag", (width, n), np.float64)
            bag[...] = products[start:stop].reshape(n, width).T
            np.add.reduce(bag, axis=0, out=terms[row])
        start = stop
    return np.add.reduce(terms, axis=0, out=empty(workspace, "wide/logits", n, np.float64))


def field_terms(layer, features, fields, n, hot=None):
    """Each field's term of the wide logit, float64 [len(fields), n]: row ``j`` is
    `WideLayer.field_logits` of ``fields[j]`` (bit for bit), for fields already checked (ids
    in range) and one output. The one-hot fields are gathered at once (one ``np.take``, one
    product); a bag (e.g. a cross of a query bag and the candidate) adds its own
    `WideLayer.field_logits`. ``hot``: the positions of the one-hot fields among
    ``fields`` (`input_checks.is_one_hot`) when the caller has found them."""
    terms = np.empty((len(fields), n), dtype=np.float64)
    inputs = [features[f] for f in fields]
    if layer._weights is None:
        hot = []
    elif hot is None:
        hot = [j for j, x in enumerate(inputs) if x.one_per_example and x.n_examples == n
               and x.feature_values.dtype == layer.dtype]
    else:
        hot = [j for j in hot if inputs[j].feature_values.dtype == layer.dtype]
    if hot:
        coords = np.concatenate([inputs[j].feature_ids for j in hot],
                                out=np.empty(n * len(hot), np.int64)).reshape(len(hot), n)
        coords += np.array([layer.offsets[fields[j]] for j in hot], dtype=np.int64)[:, None]
        products = np.take(layer._weights, coords, mode="clip")
        products *= np.concatenate([inputs[j].feature_values for j in hot]).reshape(
            len(hot), n)
        terms[hot] = products
    for j in sorted(set(range(len(fields))) - set(hot)):
        terms[j] = 0.0
        layer.field_logits(fields[j], inputs[j], out=terms[j])
    return terms


def logits_with_query(layer, features, query_terms, n, hot=None):
    """The wide logits [n] (float64) of ``n`` candidates sharing one query (a ranking
    request): ``b + sum_f s_f(i)`` in the layer's field order, where a field of
    ``query_terms`` adds its float64 scalar (the query's term, computed once; or [n] terms,
    one per candidate, when candidates of several queries are scored together) and every
    other field its term of ``features`` (the candidates' fields, already checked),
    `field_terms`. The terms are the rows of one [F + 1, n] array reduced in order, so the
    logits are bit-identical to adding `WideLayer.field_logits` field by field from the
    bias, query terms included. One output only. ``hot``: positions of the one-hot fields
    among those not in ``query_terms`` (see `field_terms`), when the caller has them."""
    fields = list(layer.field_sizes)
    terms = np.empty((len(fields) + 1, n), dtype=np.float64)
    terms[0] = layer.params["bias"][0]
    shared = [row for row, f in enumerate(fields, start=1) if f in query_terms]
    if shared:
        shared_terms = np.array([query_terms[fields[row - 1]] for row in shared],
                                dtype=np.float64)
        terms[shared] = shared_terms if shared_terms.ndim == 2 else shared_terms[:, None]
    own = [row for row, f in enumerate(fields, start=1) if f not in query_terms]
    if own:
        terms[own] = field_terms(layer, features, [fields[row - 1] for row in own], n, hot)
    return np.add.reduce(terms, axis=0)


def entry_gradients(layer, layout, grad_logits, workspace=None):
    """``(coords [nnz], v_k * grad_logits[i(k)] [nnz] float64)`` in the entry order of
    `gather_entries` (the field-by-field path's order)."""
    n = layout[0][0].n_examples
    coords, values = gather_entries(layer, layout, workspace)
    grads = empty(workspace, "wide/entry_grads", coords.shape, np.float64)
    grads[...] = values
    g = grad_logits.astype(np.float64, copy=False)
    if coords.shape[0] == n * len(layout):
        rows = grads.reshape(len(layout), n)
        np.multiply(rows, g, out=rows)
        return coords, grads
    start = 0
    for x, width in layout:
        stop = start + x.nnz
        rows = grads[start:stop].reshape(n, width)
        np.multiply(rows, g[:, None], out=rows)
        start = stop
    return coords, grads

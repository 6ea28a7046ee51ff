"""`WideLayer`: the wide linear model, one FTRL-Proximal model per sparse field.

    wide_logit_i = b + sum_f sum_{k in bag_f(i)} v_k * w_f[id_k]

``w_f`` [size_f] are the weights of field ``f`` (a raw one-hot field or a cross-product
field alike), ``b`` the bias. Each field is its own FTRL-Proximal model (own ``z`` and ``n``
accumulators, same hyper-parameters); the bias is trained by FTRL without L1/L2, so it is
never zeroed by the sparsity penalty. With ``n_outputs = K > 1`` (multiclass) every
coordinate holds K weights ``w_f[id, :]`` (``[size_f, K]``), each its own FTRL-L1 model, and
the logits are ``[n, K]``.

Training goes through a **probability callback**: `compute_gradients` computes the wide
logits of its examples and asks ``proba_fn(example_indices, wide_logits) -> predictions``.
Alone the callback is the loss's link (``sigmoid`` for logistic regression); in Wide & Deep
the estimator's callback adds the deep logits of the same examples, so the wide part sees the
joint model's prediction. The loss object gives ``dL/df`` (`widedeep.losses.Loss.gradient`)
and ``dL/dw_f[r] = sum_{k: id_k = r} v_k dL/df_{i(k)}``, summed by coordinate in float64.
Updating is two-phase (`prepare_update` computes the FTRL step, the caller commits it), so a
training step can check every new value before anything is written.
"""
from __future__ import annotations

import numpy as np

from ..input_checks import is_one_hot, validate_fields
from ..inputs import SparseInput
from ..losses import BinaryLogistic
from ..optim.base import prepare_in_row_ranges
from ..segments import sum_duplicates
from ..storage import in_memory
from .wide_gather import entry_gradients, fixed_widths, fused_logits, logits_with_query
from .base import Layer, sum_rows_by_id

__all__ = ["WideLayer", "WIDE_MODES", "check_finite_gradient"]

WIDE_MODES = ("batch", "online")
_BINARY = BinaryLogistic()


def _common_size(inputs):
    """The number of examples every input has, or None (none, or sizes that differ)."""
    sizes = {x.n_examples for x in inputs}
    return sizes.pop() if len(sizes) == 1 else None


def check_finite_gradient(grad_logits):
    """Refuse to update from a non-finite loss gradient (a diverged model), so optimizers
    can run their unchecked fast paths."""
    if not np.all(np.isfinite(grad_logits)):
        raise FloatingPointError("non-finite loss gradient: the model's scores are not "
                                 "finite (diverged?); lower the learning rates")


class WideLayer(Layer):
    """Sum of per-field sparse linear models plus a bias, trained by FTRL-Proximal.

    Parameters
    ----------
    field_sizes : dict[str, int]
        Field name -> number of coordinates (vocabulary or hash size).
    ftrl : FtrlProximal
        Hyper-parameters shared by every field's model.
    fit_intercept : bool
        Learn the bias ``b`` (FTRL, no L1/L2). Otherwise ``b = 0``.
    dtype : float dtype of weights and accumulators.
    n_outputs : int
        1 (binary, regression: weights ``[size]``, logits ``[n]``) or K classes (weights
        ``[size, K]``, logits ``[n, K]``).
    field_ftrl : dict[str, FtrlProximal], optional
        Fields with settings of their own (e.g. a stronger L1 on a cross); the others use
        ``ftrl``. One vectorized step still updates every field (`FieldwiseFtrl`).
    allocate : callable, optional
        Creates the contiguous ``w``, ``z``, ``n`` arrays (`widedeep.storage`: in memory by
        default, or memory-mapped files).

    ``params`` holds ``w_f`` under the field name and the bias under ``"bias"`` (shape
    ``[1]`` or ``[K]``); ``ftrl_state[name]`` holds that model's ``{"z", "n"}``. The fields'
    arrays are views into one contiguous array each for ``w``, ``z`` and ``n`` (field ``f``
    at ``offsets[f]``), so one vectorized FTRL step updates every field's coordinates of a
    batch; each coordinate remains its own per-coordinate model, exactly as with separate
    arrays. Coordinates of the contiguous array are what `coordinate_gradients` returns.
    """

    def __init__(self, field_sizes, ftrl, fit_intercept=True, dtype=np.float32, n_outputs=1,
                 field_ftrl=None, allocate=in_memory):
        super().__init__()
        self.field_sizes = {f: int(s) for f, s in field_sizes.items()}
        if "bias" in self.field_sizes:
            raise ValueError("'bias' is reserved for the wide bias; rename that field")
        for f, s in self.field_sizes.items():
            if s <= 0:
                raise ValueError(f"wide field {f!r}: size must be positive, got {s}")
        self.ftrl = ftrl
        self.fit_intercept = bool(fit_intercept)
        self.dtype = np.dtype(dtype)
        self.n_outputs = int(n_outputs)
        self.offsets = {}
        total = 0
        for f, s in self.field_sizes.items():
            self.offsets[f] = total
            total += s
        self.n_coordinates = total
        if field_ftrl:
            from ..optim.ftrl_fields import FieldwiseFtrl
            unknown = sorted(set(field_ftrl) - set(self.field_sizes))
            if unknown:
                raise ValueError(f"field_ftrl names fields the wide layer does not have: "
                                 f"{unknown}; wide fields: {list(self.field_sizes)}")
            ftrl = FieldwiseFtrl(list(self.offsets.values()), list(self.field_sizes.values()),
                                 [field_ftrl.get(f, ftrl) for f in self.field_sizes],
                                 default=ftrl)
        self._trailing = () if self.n_outputs == 1 else (self.n_outputs,)
        self._weights = allocate((total,) + self._trailing, self.dtype)
        self._state = ftrl.init_state(self._weights, allocate=allocate)
        self.params, self.ftrl_state = {}, {}
        for f, s in self.field_sizes.items():
            span = slice(self.offsets[f], self.offsets[f] + s)
            self.params[f] = self._weights[span]
            self.ftrl_state[f] = {key: value[span] for key, value in self._state.items()}
        self.params["bias"] = np.zeros(self.n_outputs, dtype=self.dtype)
        self.set_ftrl(ftrl)
        self.ftrl_state["bias"] = self.bias_ftrl.init_state(self.params["bias"])

    def set_ftrl(self, ftrl):
        """Train from now on with ``ftrl`` (e.g. a learning-rate schedule's scaled copy of
        the current one); the bias gets the default alpha and beta without L1/L2. The state
        stays valid."""
        from ..optim import FtrlProximal
        self.ftrl = ftrl
        self.bias_ftrl = FtrlProximal(alpha=ftrl.alpha, beta=ftrl.beta, l1=0.0, l2=0.0,
                                      initial_accumulator_value=ftrl.initial_accumulator_value)

    def field_ftrl(self, field):
        """The `FtrlProximal` settings of ``field`` ("bias": the bias's)."""
        if field == "bias":
            return self.bias_ftrl
        blocks = getattr(self.ftrl, "optimizers", None)
        return self.ftrl if blocks is None else blocks[list(self.field_sizes).index(field)]

    def bind_params(self, params):
        """Use the arrays ``params`` (``{field: w_f [size_f], "bias": [1]}``, e.g. read-only
        memory maps of a saved model) as the weights, by reference, without copying.

        For serving: a bound layer predicts from those arrays; it cannot be trained (its
        FTRL state is dropped), so train a loaded copy instead.
        """
        for name in [*self.field_sizes, "bias"]:
            expected = (self.field_sizes[name],) + self._trailing if name != "bias" \
                else (self.n_outputs,)
            if params[name].shape != expected or params[name].dtype != self.dtype:
                raise ValueError(f"wide {name!r}: expected {self.dtype}{list(expected)}, got "
                                 f"{params[name].dtype}{list(params[name].shape)}")
        self.params = {name: params[name] for name in [*self.field_sizes, "bias"]}
        self._weights = self._state = None   # training would no longer reach self.params

    # ------------------------------------------------------------------ checking
    def check_input(self, features, values=True):
        """Raise naming the field unless every wide field is present as a `SparseInput`;
        ``values=True`` also checks what the updates rely on (ids in range, rows sorted,
        values finite), ``values=False`` leaves that to ``forward(validate=True)``."""
        for field in self.field_sizes:
            if field not in features:
                raise ValueError(f"missing wide field {field!r} (expected wide fields: "
                                 f"{list(self.field_sizes)})")
            x = features[field]
            if not isinstance(x, SparseInput):
                raise TypeError(f"wide field {field!r}: expected a SparseInput, got "
                                f"{type(x).__name__}")
        # a SparseInput built with validate=False is checked here (all fields at once)
        if values:
            self.validate_values(features)

    def validate_values(self, features, ids=None, values=None):
        """The value checks of `check_input` (`validate_fields`; ``ids``/``values``: the
        fields' ids [F, n] and values already concatenated, see there)."""
        validate_fields([features[f] for f in self.field_sizes],
                        list(self.field_sizes.values()), list(self.field_sizes), ids, values)

    # ------------------------------------------------------------------ forward/backward
    def forward(self, features, training=False, rng=None, workspace=None, validate=False):
        """``(logits [n] or [n, K], cache)``; writes nothing. ``workspace``: scratch of the
        one-gather path (`widedeep.workspace.Workspace`). ``validate=True``: run the value
        checks of `check_input` first (fused with the one gather when every field is
        one-hot: the ids and values are concatenated once for both)."""
        inputs = [features[f] for f in self.field_sizes]
        n = inputs[0].n_examples if inputs else 0
        # which fields hold one entry per example, found once for every use below
        hot = [j for j, x in enumerate(inputs) if is_one_hot(x, n)]
        one_hot = bool(inputs) and len(hot) == len(inputs)
        layout = fixed_widths(self, features, one_hot)
        if validate and (layout is None or not one_hot):
            # field by field (the one-hot ones together), before anything is read
            validate_fields(inputs, list(self.field_sizes.values()), list(self.field_sizes),
                            hot=hot)
            validate = False
        if layout is not None:   # one gather for every field (`wide_gather`)
            return fused_logits(self, layout, workspace, validate).astype(self.dtype), \
                features
        n = _common_size(inputs)
        if self.n_outputs == 1 and self._weights is not None and n:
            # the one-hot fields in one gather, each bag by its own `field_logits`, added in
            # field order: the same bits as field by field (`wide_gather.logits_with_query`)
            return logits_with_query(self, features, {}, n, hot).astype(self.dtype), features
        return self._field_by_field_logits(features).astype(self.dtype), features

    def _field_by_field_logits(self, features):
        n = None
        logits = None
        for field in self.field_sizes:
            x = features[field]
            if n is None:
                n = x.n_examples
                logits = np.empty((n,) + self._trailing, dtype=np.float64)
                logits[...] = self.params["bias"] if self.n_outputs > 1 else \
                    self.params["bias"][0]
            elif x.n_examples != n:
                raise ValueError(f"wide field {field!r} has {x.n_examples} examples, "
                                 f"expected {n}")
            self.field_logits(field, x, out=logits)
        if logits is None:
            raise ValueError("WideLayer has no fields")
        return logits

    @property
    def bias(self):
        """The bias ``b`` as a Python float (read at call time)."""
        return float(self.params["bias"][0])

    def field_logits(self, field, x, out=None):
        """Field ``field``'s term of the wide logit, ``sum_{k in bag(i)} v_k w_f[id_k]``
        per example: float64 [n] (or [n, K] with K outputs; ``x`` a `SparseInput` of n
        examples, ids in range).

        With ``out`` (float64 [n] / [n, K]) the term is added into it in place and ``out``
        returned: `forward` sums the fields this way in field order, so a caller adding the
        same terms in the same order (e.g. a query's term once, then each candidate's) gets
        bit-identical logits. Reads the current weights; writes nothing into the layer.
        """
        weights = self.params[field][x.feature_ids]
        if out is None:
            out = np.zeros((x.n_examples,) + self._trailing, dtype=np.float64)
        if self.n_outputs == 1:
            contrib = weights * x.feature_values
            if x.one_per_example:
                out += contrib
            else:
                out += np.bincount(x.example_indices, weights=contrib, minlength=x.n_examples)
            return out
        contrib = weights * x.feature_values[:, None]
        if x.one_per_example:
            out += contrib
        else:
            for k in range(self.n_outputs):   # a loop over classes, not examples
                out[:, k] += np.bincount(x.example_indices, weights=contrib[:, k],
                                         minlength=x.n_examples)
        return out

    def entry_gradients(self, grad_logits, cache):
        """Per field, unaggregated ``(feature_ids, v_k * grad_logits[i(k)])``."""
        features = cache
        out = {}
        for field in self.field_sizes:
            x = features[field]
            values = x.feature_values if self.n_outputs == 1 else x.feature_values[:, None]
            out[field] = (x.feature_ids,
                          (values * grad_logits[x.example_indices]).astype(self.dtype))
        return out

    def backward(self, grad_logits, cache):
        """``(None, {field: RowSparseGrad, "bias": [1] or [K]})`` (for gradient checks)."""
        grads = {f: sum_rows_by_id(ids, g)
                 for f, (ids, g) in self.entry_gradients(grad_logits, cache).items()}
        grads["bias"] = np.asarray(grad_logits.sum(axis=0), dtype=self.dtype).reshape(-1)
        return None, grads

    def coordinate_gradients(self, grad_logits, cache, workspace=None):
        """The batch's gradient over the contiguous coordinates: ``(coords, values, bias)``
        with ``coords`` int64 [k] distinct and ascending (field ``f``'s id ``r`` is
        ``offsets[f] + r``), ``values`` float64 [k] (or [k, K]) the per-coordinate sums and
        ``bias`` float64 [1] (or [K]) the bias gradient. Entries are summed in field
        order, then row order (`sum_duplicates`)."""
        features = cache
        layout = fixed_widths(self, features)
        # the entries come field after field, each field in its own coordinate range
        runs = np.cumsum([0] + [features[field].nnz for field in self.field_sizes]).tolist()
        if layout is not None:
            ids, grads = entry_gradients(self, layout, grad_logits, workspace)
        else:
            ids, grads = [], []
            for field in self.field_sizes:
                x = features[field]
                values = x.feature_values if self.n_outputs == 1 else \
                    x.feature_values[:, None]
                ids.append(x.feature_ids + self.offsets[field])
                grads.append(values.astype(np.float64) * grad_logits[x.example_indices])
            ids = ids[0] if len(ids) == 1 else np.concatenate(ids)
            grads = grads[0] if len(grads) == 1 else np.concatenate(grads)
        coords, values = sum_duplicates(ids, grads, n_ids=self.n_coordinates,
                                        workspace=workspace, key="wide/sum", runs=runs)
        bias = np.asarray(grad_logits.sum(axis=0, dtype=np.float64)).reshape(-1)
        return coords, values, bias

    # ------------------------------------------------------------------ training
    def prepare_update(self, coords, values, bias_grad, workspace=None):
        """The FTRL step for coordinate gradients (as from `coordinate_gradients`: distinct
        in-range coords, finite values), computed but not written: a `PendingUpdate`
        (its new values in ``workspace`` buffers when given)."""
        if self._weights is None:
            raise RuntimeError("this WideLayer is bound to read-only arrays (a served "
                               "model); load the model without memory mapping to train it")
        # FTRL treats each coordinate on its own: its rows may be prepared in ranges on the
        # workspace's threads (bit-identical to one call)
        threads = None if workspace is None or self.ftrl.counters else workspace.threads
        row_size = int(np.prod(values.shape[1:], dtype=np.int64))
        [pending] = prepare_in_row_ranges(threads, [(
            coords.shape[0], row_size,
            lambda start, stop, part: self.ftrl.prepare_rows(
                self._weights, coords[start:stop], values[start:stop], self._state,
                assume_unique=True, check=False, workspace=workspace,
                key="wide/ftrl" if part == 0 else f"wide/ftrl/{part}"))])
        if self.fit_intercept:
            bias = self.params["bias"]
            pending.writes += self.bias_ftrl.prepare(
                bias, np.asarray(bias_grad, dtype=self.dtype).reshape(bias.shape),
                self.ftrl_state["bias"], check=False).writes
        return pending

    def compute_gradients(self, features, labels, proba_fn=None, sample_weight=None,
                          loss=_BINARY, n_total=None, workspace=None):
        """Forward, callback, loss gradient, coordinate sums: ``(coords, values, bias,
        predictions, grad_logits)``. ``n_total``: the whole batch's size for the 1/n.
        ``workspace``: scratch buffers (the coordinate sums are then among them)."""
        logits, cache = self.forward(features, workspace=workspace)
        n = logits.shape[0]
        if proba_fn is None:
            p = loss.link(logits)
        else:
            p = np.asarray(proba_fn(np.arange(n), logits), dtype=self.dtype)
        g = loss.gradient(p, labels, sample_weight, n=n if n_total is None else n_total)
        check_finite_gradient(g)
        coords, values, bias = self.coordinate_gradients(g, cache, workspace)
        return coords, values, bias, p, g

    def fit_batch(self, features, labels, proba_fn=None, sample_weight=None, mode="batch",
                  loss=_BINARY):
        """Train on one batch; return the predictions ``p`` the callback gave.

        ``mode="batch"``: one vectorized FTRL step on the batch-mean gradient (the paper's
        mini-batch joint training). ``mode="online"``: examples in order, each a step of its
        own (gradient not divided by n) that sees the weights updated by the ones before —
        classic online FTRL. This per-example loop is the library's one documented Python
        loop over examples; use it for fidelity to online learning, not speed.
        """
        labels = np.asarray(labels)
        weights = None if sample_weight is None else np.asarray(sample_weight, self.dtype)
        if mode == "batch":
            coords, values, bias, p, _ = self.compute_gradients(features, labels, proba_fn,
                                                                weights, loss)
            self.prepare_update(coords, values, bias).commit()
            return p
        if mode == "online":
            return self.fit_online(features, labels, proba_fn, weights, loss)
        raise ValueError(f"wide mode must be one of {WIDE_MODES}, got {mode!r}")

    def fit_online(self, features, labels, proba_fn=None, sample_weight=None, loss=_BINARY):
        """Online FTRL, example by example (the documented per-example loop): each example's
        gradient ``s_i (p_i - y_i)`` (n = 1) is applied before the next one is scored.
        Returns the predictions [n] (or [n, K])."""
        n = labels.shape[0]
        p = np.empty((n,) + self._trailing, dtype=self.dtype)
        inputs = {f: features[f] for f in self.field_sizes}
        pointers = {f: x.indptr for f, x in inputs.items()}
        for i in range(n):
            logit = self.params["bias"].astype(np.float64)
            bags = {}
            for f, x in inputs.items():
                a, b = pointers[f][i], pointers[f][i + 1]
                ids, vals = x.feature_ids[a:b], x.feature_values[a:b]
                bags[f] = (ids, vals)
                logit = logit + np.dot(vals, self.params[f][ids])
            logit = logit.astype(self.dtype)[None] if self.n_outputs > 1 else \
                np.asarray([logit[0]], dtype=self.dtype)
            row = np.array([i])
            p_i = loss.link(logit) if proba_fn is None else proba_fn(row, logit)
            p[i] = np.asarray(p_i, dtype=self.dtype)[0]
            g = loss.gradient(p[i:i + 1], labels[i:i + 1],
                              None if sample_weight is None else sample_weight[i:i + 1], n=1)
            check_finite_gradient(g)
            one = {f: (ids, vals if self.n_outputs == 1 else vals[:, None])
                   for f, (ids, vals) in bags.items()}
            ids = np.concatenate([ids + self.offsets[f] for f, (ids, _) in one.items()])
            grads = np.concatenate([v.astype(np.float64) * g[0] for _, v in one.values()])
            coords, values = sum_duplicates(ids, grads)
            self.prepare_update(coords, values, g.sum(axis=0, dtype=np.float64)).commit()
        return p

    def set_bias(self, values):
        """Set the bias to ``values`` ([1] or [K]) with the FTRL state that produces it
        (``z`` solved from the closed form at the current ``n``), so later steps continue
        from it; e.g. a regression model starting at the label mean."""
        bias = self.params["bias"]
        values = np.asarray(values, dtype=np.float64).reshape(bias.shape)
        n = self.ftrl_state["bias"]["n"].astype(np.float64)
        ftrl = self.bias_ftrl
        self.ftrl_state["bias"]["z"][...] = -values * ((ftrl.beta + np.sqrt(n)) / ftrl.alpha
                                                       + ftrl.l2)
        bias[...] = ftrl.weights(self.ftrl_state["bias"]["z"], self.ftrl_state["bias"]["n"])

    # ------------------------------------------------------------------ raw state
    def coordinate_state(self):
        """The contiguous arrays of every field's coordinates, ``(w, {"z": z, "n": n})``
        ([n_coordinates] or [n_coordinates, K]); the model's own arrays, not copies.
        For trainers that move FTRL state between replicas (`widedeep.training.deltas`)."""
        if self._weights is None:
            raise RuntimeError("this WideLayer is bound to read-only arrays (a served model)")
        return self._weights, self._state

    def coordinates_of(self, features):
        """Distinct ascending coordinates (of the contiguous arrays) that ``features``
        read: field ``f``'s id ``r`` is ``offsets[f] + r``; int64 [k]."""
        ids = [features[f].feature_ids.astype(np.int64) + self.offsets[f]
               for f in self.field_sizes]
        return np.unique(np.concatenate(ids)) if ids else np.zeros(0, dtype=np.int64)

    def refresh_weights(self, coords=None, bias=False):
        """Set ``w`` of coordinates ``coords`` (and of the bias with ``bias=True``) from
        their ``z`` and ``n`` by FTRL's closed form, e.g. after accumulators were merged
        from several replicas; a step computes ``w`` from the same closed form."""
        if coords is not None and coords.shape[0]:
            z, n = self._state["z"][coords], self._state["n"][coords]
            if hasattr(self.ftrl, "optimizers"):    # FieldwiseFtrl: per-field settings
                new = self.ftrl.weights(z, n, rows=coords)
            else:
                new = self.ftrl.weights(z, n)
            self._weights[coords] = new.astype(self.dtype, copy=False)
        if bias and self.fit_intercept:
            state = self.ftrl_state["bias"]
            self.params["bias"][...] = self.bias_ftrl.weights(state["z"], state["n"])

    # ------------------------------------------------------------------ inspection
    def nonzero_counts(self):
        """Number of non-zero weights per field (sparsity after FTRL-L1)."""
        return {f: int(np.count_nonzero(self.params[f])) for f in self.field_sizes}

    def __repr__(self):
        return f"WideLayer(fields={self.field_sizes}, ftrl={self.ftrl!r})"

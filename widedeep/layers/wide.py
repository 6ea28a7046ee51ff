"""`WideLayer`: the wide linear model, one FTRL-Proximal model per sparse field.

    wide_logit_i = b + sum_f sum_{k in bag_f(i)} v_k * w_f[id_k]

``w_f`` [size_f] are the weights of field ``f`` (a raw one-hot field or a cross-product
field alike), ``b`` the bias. Each field is its own FTRL-Proximal model (own ``z`` and ``n``
accumulators, same hyper-parameters); the bias is trained by FTRL without L1/L2, so it is
never zeroed by the sparsity penalty.

Training goes through a **probability callback**: `fit_batch` computes the wide logits of
its examples and asks ``proba_fn(example_indices, wide_logits) -> probabilities``. Alone
(logistic regression) the callback is ``sigmoid``; in Wide & Deep the estimator's callback
adds the deep logits of the same examples, so the wide part sees the joint model's
probability. The gradient of the loss w.r.t. the joint logit is ``s_i (p_i - y_i)`` and
``dL/dw_f[r] = sum_{k: id_k = r} v_k s_{i(k)} (p_{i(k)} - y_{i(k)}) / n`` (batch mean).
"""
from __future__ import annotations

import numpy as np

from ..inputs import SparseInput
from ..losses import sigmoid
from .base import Layer, sum_rows_by_id

__all__ = ["WideLayer", "WIDE_MODES"]

WIDE_MODES = ("batch", "online")


def check_finite_gradient(grad_logits):
    """Refuse to update from a non-finite loss gradient (a diverged model), so optimizers
    can run their unchecked fast paths."""
    if not np.all(np.isfinite(grad_logits)):
        raise FloatingPointError("non-finite loss gradient: the model's scores are not "
                                 "finite (diverged?); lower the learning rates")


def default_proba(example_indices, wide_logits):
    return sigmoid(wide_logits)


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

    ``params`` holds ``w_f`` under the field name and the bias under ``"bias"`` (shape [1]);
    ``ftrl_state[name]`` holds that model's ``{"z", "n"}``. The fields' arrays are views into
    one contiguous array each for ``w``, ``z`` and ``n`` (field ``f`` at its own offset), so
    one vectorized FTRL step updates every field's coordinates of a batch; each coordinate
    remains its own per-coordinate model, exactly as with separate arrays.
    """

    def __init__(self, field_sizes, ftrl, fit_intercept=True, dtype=np.float32):
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
        self.offsets = {}
        total = 0
        for f, s in self.field_sizes.items():
            self.offsets[f] = total
            total += s
        self._weights = np.zeros(total, dtype=self.dtype)
        self._state = ftrl.init_state(total, self.dtype)
        self.params, self.ftrl_state = {}, {}
        for f, s in self.field_sizes.items():
            span = slice(self.offsets[f], self.offsets[f] + s)
            self.params[f] = self._weights[span]
            self.ftrl_state[f] = {key: value[span] for key, value in self._state.items()}
        self.params["bias"] = np.zeros(1, dtype=self.dtype)
        self.set_ftrl(ftrl)
        self.ftrl_state["bias"] = self.bias_ftrl.init_state(1, self.dtype)

    def set_ftrl(self, ftrl):
        """Train from now on with ``ftrl`` (e.g. a learning-rate schedule's scaled copy); the
        bias gets the same alpha and beta without L1/L2. The state stays valid."""
        from ..optim import FtrlProximal
        self.ftrl = ftrl
        self.bias_ftrl = FtrlProximal(alpha=ftrl.alpha, beta=ftrl.beta, l1=0.0, l2=0.0,
                                      initial_accumulator_value=ftrl.initial_accumulator_value)

    def bind_params(self, params):
        """Use the arrays ``params`` (``{field: w_f [size_f], "bias": [1]}``, e.g. read-only
        memory maps of a saved model) as the weights, by reference, without copying.

        For serving: a bound layer predicts from those arrays; it cannot be trained (its
        FTRL state is dropped), so train a loaded copy instead.
        """
        for name in [*self.field_sizes, "bias"]:
            expected = (self.field_sizes.get(name, 1),)
            if params[name].shape != expected or params[name].dtype != self.dtype:
                raise ValueError(f"wide {name!r}: expected {self.dtype}{list(expected)}, got "
                                 f"{params[name].dtype}{list(params[name].shape)}")
        self.params = {name: params[name] for name in [*self.field_sizes, "bias"]}
        self._weights = self._state = None   # training would no longer reach self.params

    # ------------------------------------------------------------------ checking
    def check_input(self, features):
        for field, size in self.field_sizes.items():
            if field not in features:
                raise ValueError(f"missing wide field {field!r} (expected wide fields: "
                                 f"{list(self.field_sizes)})")
            x = features[field]
            if not isinstance(x, SparseInput):
                raise TypeError(f"wide field {field!r}: expected a SparseInput, got "
                                f"{type(x).__name__}")
            # everything the updates rely on (ids in range, rows sorted, values finite):
            # a SparseInput built with validate=False is checked here
            x.validate(size, field=field)

    # ------------------------------------------------------------------ forward/backward
    def forward(self, features, training=False, rng=None):
        n = None
        logits = None
        for field in self.field_sizes:
            x = features[field]
            if n is None:
                n = x.n_examples
                logits = np.full(n, self.params["bias"][0], dtype=np.float64)
            elif x.n_examples != n:
                raise ValueError(f"wide field {field!r} has {x.n_examples} examples, "
                                 f"expected {n}")
            self.field_logits(field, x, out=logits)
        if logits is None:
            raise ValueError("WideLayer has no fields")
        return logits.astype(self.dtype), features

    @property
    def bias(self):
        """The bias ``b`` as a Python float (read at call time)."""
        return float(self.params["bias"][0])

    def field_logits(self, field, x, out=None):
        """Field ``field``'s term of the wide logit, ``sum_{k in bag(i)} v_k w_f[id_k]``
        per example: float64 [n] (``x`` a `SparseInput` of n examples, ids in range).

        With ``out`` (float64 [n]) the term is added into it in place and ``out`` returned:
        `forward` sums the fields this way in field order, so a caller adding the same terms
        in the same order (e.g. a query's term once, then each candidate's) gets bit-identical
        logits. Reads the current weights; writes nothing into the layer.
        """
        contrib = self.params[field][x.feature_ids] * x.feature_values
        if out is None:
            out = np.zeros(x.n_examples, dtype=np.float64)
        if x.one_per_example:
            out += contrib
        else:
            out += np.bincount(x.example_indices, weights=contrib, minlength=x.n_examples)
        return out

    def entry_gradients(self, grad_logits, cache):
        """Per field, unaggregated ``(feature_ids, v_k * grad_logits[i(k)])``."""
        features = cache
        out = {}
        for field in self.field_sizes:
            x = features[field]
            out[field] = (x.feature_ids,
                          (x.feature_values * grad_logits[x.example_indices]).astype(self.dtype))
        return out

    def backward(self, grad_logits, cache):
        grads = {f: sum_rows_by_id(ids, g)
                 for f, (ids, g) in self.entry_gradients(grad_logits, cache).items()}
        grads["bias"] = np.asarray([grad_logits.sum()], dtype=self.dtype)
        return None, grads

    # ------------------------------------------------------------------ training
    def apply_gradients(self, entry_grads, bias_grad):
        """One FTRL step on unaggregated entry gradients of every field (duplicates summed).

        ``entry_grads``: ``{field: (feature_ids, gradients)}`` with ids already checked to
        be in range (`check_input`) and finite gradients; the fields' ids are shifted to
        their offsets so a single vectorized update covers the whole batch.
        """
        if self._weights is None:
            raise RuntimeError("this WideLayer is bound to read-only arrays (a served "
                               "model); load the model without memory mapping to train it")
        ids = [entry[0] + self.offsets[field] for field, entry in entry_grads.items()]
        grads = [entry[1] for entry in entry_grads.values()]
        if ids:
            ids = ids[0] if len(ids) == 1 else np.concatenate(ids)
            grads = grads[0] if len(grads) == 1 else np.concatenate(grads)
            if ids.shape[0]:
                self.ftrl.update(self._weights, self._state, ids, grads, check=False)
        if self.fit_intercept:
            self.bias_ftrl.update(self.params["bias"], self.ftrl_state["bias"],
                                  np.zeros(1, dtype=np.int64),
                                  np.asarray([bias_grad], dtype=self.dtype))

    def fit_batch(self, features, labels, proba_fn=default_proba, sample_weight=None,
                  mode="batch"):
        """Train on one batch; return the probabilities ``p`` [n] the callback gave.

        ``mode="batch"``: one vectorized FTRL step on the batch-mean gradient (the paper's
        mini-batch joint training). ``mode="online"``: examples in order, each a step of its
        own (gradient not divided by n) that sees the weights updated by the ones before —
        classic online FTRL. This per-example loop is the library's one documented Python
        loop over examples; use it for fidelity to online learning, not speed.
        """
        labels = np.asarray(labels, dtype=self.dtype)
        n = labels.shape[0]
        weights = None if sample_weight is None else np.asarray(sample_weight, self.dtype)
        if mode == "batch":
            logits, cache = self.forward(features)
            p = np.asarray(proba_fn(np.arange(n), logits), dtype=self.dtype)
            g = p - labels
            if weights is not None:
                g = g * weights
            g /= max(n, 1)
            check_finite_gradient(g)
            self.apply_gradients(self.entry_gradients(g, cache), g.sum())
            return p
        if mode == "online":
            return self._fit_online(features, labels, proba_fn, weights)
        raise ValueError(f"wide mode must be one of {WIDE_MODES}, got {mode!r}")

    def _fit_online(self, features, labels, proba_fn, weights):
        n = labels.shape[0]
        p = np.empty(n, dtype=self.dtype)
        inputs = {f: features[f] for f in self.field_sizes}
        pointers = {f: x.indptr for f, x in inputs.items()}
        for i in range(n):
            logit = float(self.params["bias"][0])
            bags = {}
            for f, x in inputs.items():
                a, b = pointers[f][i], pointers[f][i + 1]
                ids, vals = x.feature_ids[a:b], x.feature_values[a:b]
                bags[f] = (ids, vals)
                logit += float(np.dot(self.params[f][ids], vals))
            p[i] = proba_fn(np.array([i]), np.array([logit], dtype=self.dtype))[0]
            g = float(p[i] - labels[i]) * (1.0 if weights is None else float(weights[i]))
            check_finite_gradient(np.asarray([g]))
            self.apply_gradients({f: (ids, (vals * g).astype(self.dtype))
                                  for f, (ids, vals) in bags.items()}, g)
        return p

    # ------------------------------------------------------------------ inspection
    def nonzero_counts(self):
        """Number of non-zero weights per field (sparsity after FTRL-L1)."""
        return {f: int(np.count_nonzero(self.params[f])) for f in self.field_sizes}

    def __repr__(self):
        return f"WideLayer(fields={self.field_sizes}, ftrl={self.ftrl!r})"

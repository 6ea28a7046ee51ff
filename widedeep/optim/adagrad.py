"""Adagrad (Duchi, Hazan & Singer, 2011) with dense and row-sparse updates.

The deep part of Wide & Deep is trained with Adagrad (Cheng et al., 2016, section 3). Embedding
tables receive gradients for only the few rows a batch looked up, so besides the dense
update there is a row-sparse one whose cost depends on the number of touched rows only.
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..segments import sum_duplicates

__all__ = ["Adagrad"]


class Adagrad:
    """Adagrad in TensorFlow's form, per coordinate::

        accumulator += g ** 2
        param       -= lr * g / (sqrt(accumulator) + eps)

    Parameters (defaults: `widedeep.defaults`, the same ones the estimators use)
    ----------
    lr : float
        Learning rate, ``> 0``. It scales the gradient of the *mean* batch loss.
    initial_accumulator_value : float
        Starting value of every accumulator entry, ``>= 0``. TensorFlow's default is 0.1
        (see :meth:`from_tensorflow`); widedeep's is smaller because its loss is a mean.
    eps : float
        Added to ``sqrt(accumulator)`` in the denominator, ``>= 0``. ``eps`` and
        ``initial_accumulator_value`` may not both be 0 (a zero gradient would give 0/0).

    The optimizer holds hyper-parameters only. The state (one accumulator shaped like the
    parameter) belongs to the caller, who gets it from :meth:`init_state` and passes it to
    every update. Arithmetic is done in the parameter's dtype (float32 by default in widedeep;
    float64 works the same way), and the accumulator has that dtype too.

    Equivalent to ``tf.keras.optimizers.Adagrad(learning_rate=lr,
    initial_accumulator_value=..., epsilon=eps)``. ``tf.compat.v1.train.AdagradOptimizer``
    has no epsilon, which is ``eps=0`` here.

    References
    ----------
    J. Duchi, E. Hazan, Y. Singer. Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization. JMLR 12, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adagrad(lr=0.5, initial_accumulator_value=0.0)
    >>> param = np.array([1.0, 2.0])
    >>> state = opt.init_state(param)
    >>> opt.update(param, np.array([3.0, -4.0]), state)   # sqrt(acc) = |g|: a step of lr
    >>> param.round(6).tolist(), state["accumulator"].tolist()
    ([0.5, 2.5], [9.0, 16.0])

    Sparse rows of an embedding table (row 2 appears twice, its gradients are summed):

    >>> table = np.zeros((4, 2))
    >>> state = opt.init_state(table)
    >>> opt.update_rows(table, np.array([2, 0, 2]), np.array([[1.0, 1.0], [3.0, 0.0], [2.0, -1.0]]), state)
    >>> state["accumulator"].tolist()
    [[9.0, 0.0], [0.0, 0.0], [9.0, 0.0], [0.0, 0.0]]
    """

    def __init__(self, lr=defaults.ADAGRAD_LR,
                 initial_accumulator_value=defaults.ADAGRAD_INITIAL_ACCUMULATOR,
                 eps=defaults.ADAGRAD_EPS):
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"Adagrad: lr must be a finite number > 0, got {lr!r}")
        if not (np.isfinite(initial_accumulator_value) and initial_accumulator_value >= 0):
            raise ValueError(f"Adagrad: initial_accumulator_value must be finite and >= 0, "
                             f"got {initial_accumulator_value!r}")
        if not (np.isfinite(eps) and eps >= 0):
            raise ValueError(f"Adagrad: eps must be finite and >= 0, got {eps!r}")
        if eps == 0 and initial_accumulator_value == 0:
            raise ValueError("Adagrad: eps and initial_accumulator_value cannot both be 0 "
                             "(a coordinate whose gradient is 0 would be updated by 0/0)")
        self.lr = float(lr)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.eps = float(eps)

    @classmethod
    def from_tensorflow(cls, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        """The optimizer equal to ``tf.keras.optimizers.Adagrad`` with these arguments (its
        defaults are TensorFlow's); ``epsilon=0`` is ``tf.compat.v1.train.AdagradOptimizer``."""
        return cls(lr=learning_rate, initial_accumulator_value=initial_accumulator_value,
                   eps=epsilon)

    def init_state(self, param):
        """``{"accumulator": ndarray}`` shaped and typed like ``param``."""
        return {"accumulator": np.full_like(param, self.initial_accumulator_value)}

    def update(self, param, grad, state, check=True):
        """Dense step, in place on ``param`` and ``state["accumulator"]``.

        ``grad`` has ``param``'s shape. Raises ``ValueError`` (and changes nothing) if the
        shapes differ or ``grad`` is not finite.
        """
        accumulator = state["accumulator"]
        if check:
            grad = np.asarray(grad)
            if grad.shape != param.shape or accumulator.shape != param.shape:
                raise ValueError(f"Adagrad.update: param, grad and accumulator must have the "
                                 f"same shape, got {param.shape}, {grad.shape} and "
                                 f"{accumulator.shape}")
            _check_finite(grad, "Adagrad.update")
        grad = grad.astype(param.dtype, copy=False)
        accumulator += grad * grad
        # lr * g / (sqrt(acc) + eps), with in-place temporaries (same rounding as written)
        denominator = np.sqrt(accumulator)
        denominator += self.eps
        step = grad * self.lr
        step /= denominator
        param -= step

    def update_rows(self, param, rows, grad_rows, state, assume_unique=False, check=True):
        """Row-sparse step, in place: only ``param[rows]`` and their accumulators change.

        Parameters
        ----------
        param : ndarray, shape [n_rows, ...]
        rows : int array, shape [k]
            Rows to update, each in ``[0, n_rows)``. A row may repeat; its gradients are
            summed first (the gradient of a table row looked up several times is the sum),
            unless ``assume_unique=True`` promises that the rows are distinct.
        grad_rows : ndarray, shape [k, ...]
            Gradient of each listed row (``param.shape[1:]`` after the first axis).
        state : dict
            From :meth:`init_state`.

        Cost is ``O(k log k * row_size)``, independent of ``n_rows``: nothing the size of the
        table is allocated. ``check=False`` skips input validation (shapes, range,
        finiteness) for callers that validated already, as ``update(..., check=False)``. For distinct rows the result is bit-identical to :meth:`update`
        with a gradient that is zero outside ``rows``.
        """
        accumulator = state["accumulator"]
        if check:
            rows, grad_rows = _check_rows(param, accumulator, rows, grad_rows)
        if rows.shape[0] == 0:
            return
        if not assume_unique:
            rows, grad_rows = sum_duplicates(rows, grad_rows)
        grad_rows = grad_rows.astype(param.dtype, copy=False)
        accumulator_rows = accumulator[rows] + grad_rows * grad_rows
        accumulator[rows] = accumulator_rows
        param[rows] -= self.lr * grad_rows / (np.sqrt(accumulator_rows) + self.eps)

    def scaled(self, factor):
        """A copy whose learning rate is ``factor`` times this one's (schedules)."""
        return Adagrad(lr=self.lr * factor,
                       initial_accumulator_value=self.initial_accumulator_value, eps=self.eps)

    def get_config(self):
        """Constructor parameters as a JSON-able dict: ``Adagrad(**opt.get_config())``."""
        return {"lr": self.lr, "initial_accumulator_value": self.initial_accumulator_value,
                "eps": self.eps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return (f"Adagrad(lr={self.lr!r}, initial_accumulator_value="
                f"{self.initial_accumulator_value!r}, eps={self.eps!r})")


def _check_finite(values, where):
    finite = np.isfinite(values)
    if not finite.all():
        rows_ok = finite.reshape(finite.shape[0], -1).all(axis=1) if finite.ndim else finite
        bad = int(np.flatnonzero(~np.atleast_1d(rows_ok))[0])
        raise ValueError(f"{where}: non-finite gradient at (first axis) position {bad}")


def _check_rows(param, accumulator, rows, grad_rows):
    """Validate a row-sparse gradient in O(k * row_size); return (rows int64, grad_rows)."""
    where = "Adagrad.update_rows"
    if param.ndim < 1:
        raise ValueError(f"{where}: param must have at least one dimension")
    if accumulator.shape != param.shape:
        raise ValueError(f"{where}: accumulator shape {accumulator.shape} differs from param "
                         f"shape {param.shape}")
    rows = np.asarray(rows)
    if rows.ndim != 1:
        raise ValueError(f"{where}: rows must be 1-d, got shape {rows.shape}")
    if rows.size == 0:
        rows = rows.astype(np.int64)
    elif rows.dtype.kind not in "iu":
        raise ValueError(f"{where}: rows must be integers, got dtype {rows.dtype}")
    grad_rows = np.asarray(grad_rows)
    expected = (rows.shape[0],) + param.shape[1:]
    if grad_rows.shape != expected:
        raise ValueError(f"{where}: grad_rows must have shape {expected} for {rows.shape[0]} "
                         f"rows of a param of shape {param.shape}, got {grad_rows.shape}")
    if rows.size:
        low, high = rows.min(), rows.max()
        if low < 0 or high >= param.shape[0]:
            bad = int(np.flatnonzero((rows < 0) | (rows >= param.shape[0]))[0])
            raise ValueError(f"{where}: row {rows[bad]} (position {bad}) is outside "
                             f"[0, {param.shape[0]})")
        _check_finite(grad_rows, where)
    return rows.astype(np.int64, copy=False), grad_rows




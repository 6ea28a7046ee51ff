"""Adagrad (Duchi, Hazan & Singer, 2011) with dense and row-sparse updates.

The deep part of Wide & Deep is trained with Adagrad (Cheng et al., 2016, section 3). Embedding
tables receive gradients for only the few rows a batch looked up, so besides the dense
update there is a row-sparse one whose cost depends on the number of touched rows only.
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..storage import in_memory
from ..workspace import empty
from .base import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
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
    every update; the methods are the shared protocol of `widedeep.optim.base`
    (``update``, ``update_rows``, ``prepare``, ``prepare_rows``). Arithmetic is done in the parameter's dtype (float32 by default in widedeep;
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

    def init_state(self, param, allocate=in_memory):
        """``{"accumulator": ndarray}`` shaped and typed like ``param`` (made by
        ``allocate``, see `widedeep.storage`)."""
        return {"accumulator": allocate(param.shape, param.dtype,
                                        self.initial_accumulator_value)}

    uses_workspace = True

    def _new_values(self, param, grad, state, workspace=None, key="adagrad"):
        # acc + g^2 and lr * g / (sqrt(acc) + eps) in three arrays (workspace buffers when
        # given): the same operations, in the same order, as the formula
        accumulator = np.multiply(grad, grad, out=empty(workspace, key + "/accumulator",
                                                         grad.shape, grad.dtype))
        np.add(state["accumulator"], accumulator, out=accumulator)
        step = np.sqrt(accumulator, out=empty(workspace, key + "/step", grad.shape,
                                              accumulator.dtype))
        step += self.eps
        scaled = np.multiply(grad, self.lr, out=empty(workspace, key + "/new", grad.shape,
                                                      grad.dtype))
        np.divide(scaled, step, out=step)
        return np.subtract(param, step, out=scaled), {"accumulator": accumulator}

    def scaled(self, factor):
        """A copy whose learning rate is ``factor`` times this one's (schedules)."""
        return Adagrad(lr=self.lr * factor,
                       initial_accumulator_value=self.initial_accumulator_value, eps=self.eps)

    def get_config(self):
        """Constructor parameters as a JSON-able dict: ``Adagrad(**opt.get_config())``."""
        return {"lr": self.lr, "initial_accumulator_value": self.initial_accumulator_value,
                "eps": self.eps}

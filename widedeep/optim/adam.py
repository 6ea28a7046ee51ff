"""Adam (Kingma & Ba, 2015) with dense and *lazy* row-sparse updates, for the deep part.

An optional alternative to AdaGrad (which stays the default). The row-sparse update is
"lazy", as TensorFlow Addons' ``LazyAdam`` and PyTorch's ``SparseAdam``: only the rows a
batch looked up change (their moments and their values); every other row of an embedding
table keeps its bytes, so a step costs O(rows in the batch), not O(table).
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..storage import in_memory
from .base import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam in TensorFlow's epsilon-hat form, per coordinate; ``t`` counts this state's steps::

        t     += 1
        m      = beta1 * m + (1 - beta1) * g
        v      = beta2 * v + (1 - beta2) * g ** 2
        param -= lr * sqrt(1 - beta2 ** t) / (1 - beta1 ** t) * m / (sqrt(v) + eps)

    The dense update applies this to every coordinate (a zero gradient still decays ``m``
    and ``v`` and moves the parameter by its momentum). The row-sparse update
    (:meth:`update_rows`) applies it only to the listed rows; ``t`` still advances once per
    call, as in ``tfa.optimizers.LazyAdam`` and ``torch.optim.SparseAdam`` (which uses the
    same epsilon placement). So sparse and dense agree when every row is listed, and differ,
    by design, on the rows a batch did not touch.

    Parameters (defaults: `widedeep.defaults`)
    ----------
    lr : float, ``> 0``; scales the gradient of the *mean* batch loss.
    beta1, beta2 : float in ``[0, 1)``; decay of the first and second moment.
    eps : float, ``> 0``; added to ``sqrt(v)``.

    Follows the optimizer protocol of `widedeep.optim.base` (``update``, ``update_rows``,
    ``prepare``, ``prepare_rows``; ``step`` is a per-parameter counter).
    The optimizer holds hyper-parameters only; the state ``{"m", "v", "step"}`` (moments
    shaped like the parameter, ``step`` an int64 array of shape [1]) belongs to the caller
    (:meth:`init_state`). Arithmetic is in the parameter's dtype.

    References
    ----------
    D. P. Kingma, J. Ba. Adam: A Method for Stochastic Optimization. ICLR 2015.

    Examples
    --------
    One step from zero moments: ``m = 0.1 g``, ``v = 0.001 g**2``, and the bias corrections
    turn the step into ``lr * g / |g|`` (up to eps), whatever the gradient's size:

    >>> import numpy as np
    >>> opt = Adam(lr=0.1)
    >>> param = np.array([1.0, 2.0])
    >>> state = opt.init_state(param)
    >>> opt.update(param, np.array([3.0, -0.5]), state)
    >>> param.round(4).tolist(), int(state["step"][0])
    ([0.9, 2.1], 1)

    Lazy rows: only rows 0 and 2 of the table move; row 2 appears twice (gradients summed).

    >>> table = np.zeros((3, 2))
    >>> state = opt.init_state(table)
    >>> grads = np.array([[1.0, 1.0], [-1.0, 0.0], [1.0, -2.0]])
    >>> opt.update_rows(table, np.array([2, 0, 2]), grads, state)
    >>> table.round(4).tolist()
    [[0.1, 0.0], [0.0, 0.0], [-0.1, 0.1]]
    """

    counters = ("step",)   # t: one per parameter, not gathered by rows

    def __init__(self, lr=defaults.ADAM_LR, beta1=defaults.ADAM_BETA1,
                 beta2=defaults.ADAM_BETA2, eps=defaults.ADAM_EPS):
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"Adam: lr must be a finite number > 0, got {lr!r}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not (np.isfinite(value) and 0 <= value < 1):
                raise ValueError(f"Adam: {name} must be in [0, 1), got {value!r}")
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"Adam: eps must be a finite number > 0, got {eps!r}")
        self.lr = float(lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    @classmethod
    def from_tensorflow(cls, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        """``tf.keras.optimizers.Adam`` / ``tfa.optimizers.LazyAdam`` with these arguments
        (TensorFlow's defaults)."""
        return cls(lr=learning_rate, beta1=beta_1, beta2=beta_2, eps=epsilon)

    def init_state(self, param, allocate=in_memory):
        """``{"m": zeros, "v": zeros}`` shaped and typed like ``param`` (made by
        ``allocate``, see `widedeep.storage`), ``"step"``: int64 [1] (in memory)."""
        return {"m": allocate(param.shape, param.dtype), "v": allocate(param.shape, param.dtype),
                "step": np.zeros(1, dtype=np.int64)}

    def _new_values(self, param, grad, state):
        """The rule on gathered entries (``step`` whole, see `Optimizer.counters`)."""
        step = state["step"] + 1
        m = self.beta1 * state["m"] + (1.0 - self.beta1) * grad
        v = self.beta2 * state["v"] + (1.0 - self.beta2) * (grad * grad)
        t = float(step[0])
        # lr * sqrt(1 - beta2^t) / (1 - beta1^t) in float64, cast to the parameter's dtype
        step_size = param.dtype.type(self.lr * np.sqrt(1.0 - self.beta2 ** t)
                                     / (1.0 - self.beta1 ** t))
        return param - step_size * m / (np.sqrt(v) + self.eps), {"m": m, "v": v, "step": step}

    def scaled(self, factor):
        """A copy whose learning rate is ``factor`` times this one's (schedules)."""
        return Adam(lr=self.lr * factor, beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    def get_config(self):
        """Constructor parameters as a JSON-able dict: ``Adam(**opt.get_config())``."""
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

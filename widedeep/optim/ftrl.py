"""FTRL-Proximal (McMahan et al., 2013), the optimizer of the wide part of Wide & Deep.

Every coordinate (one weight of the wide linear model) carries two numbers, ``z`` and ``n``;
its weight is a closed-form function of them, and L1 makes that weight exactly 0 for
coordinates whose accumulated evidence ``|z|`` does not exceed ``l1``: this is what keeps
cross-product models with millions of coordinates sparse.
"""
from __future__ import annotations

import numpy as np

from .. import defaults
from ..storage import in_memory
from ..workspace import empty
from .base import Optimizer

__all__ = ["FtrlProximal"]


class FtrlProximal(Optimizer):
    """FTRL-Proximal with L1 and L2, per coordinate (McMahan et al., 2013, Algorithm 1).

    For each coordinate ``i`` with (summed) gradient ``g_i`` in this step, with ``w_i`` the
    current weight::

        sigma_i = (sqrt(n_i + g_i**2) - sqrt(n_i)) / alpha
        z_i    += g_i - sigma_i * w_i
        n_i    += g_i**2
        w_i     = 0                                                   if |z_i| <= l1
                = -(z_i - sign(z_i) * l1) / ((beta + sqrt(n_i)) / alpha + l2)   otherwise

    Coordinates with no gradient in the step are left untouched. Per-coordinate learning
    rate is ``alpha / (beta + sqrt(n_i))``.

    Parameters (defaults: `widedeep.defaults`, the same ones the estimators use)
    ----------
    alpha : float
        Learning-rate scale, ``> 0``.
    beta : float
        Learning-rate smoothing, ``>= 0``.
    l1 : float
        L1 strength, ``>= 0``; weights with ``|z| <= l1`` are exactly 0.
    l2 : float
        L2 strength, ``>= 0`` (the paper's lambda_2).
    initial_accumulator_value : float
        Starting value of ``n``, ``>= 0`` (the paper starts at 0).

    The optimizer holds hyper-parameters only. The state ``{"z", "n"}`` belongs to the
    caller (:meth:`init_state`, shaped like the weights). The methods are the shared protocol
    of `widedeep.optim.base`: ``update(weights, grad, state)`` on every coordinate,
    ``update_rows(weights, coords, grads, state)`` on listed ones (duplicates summed in
    float64), and their ``prepare*`` forms. Weights may have trailing axes (``[size, K]``:
    K independent models per coordinate, as the multiclass wide part). Arithmetic is done in
    the weights' dtype.

    TensorFlow
    ----------
    ``tf.keras.optimizers.Ftrl`` / ``tf.compat.v1.train.FtrlOptimizer`` with
    ``learning_rate_power=-0.5`` and no L2 shrinkage compute, per coordinate,
    ``accum_new = accum + g**2``, ``linear += g - (sqrt(accum_new) - sqrt(accum)) / lr * var``,
    ``quadratic = (sqrt(accum_new) + beta) / lr + 2 * l2_tf`` and
    ``var = (sign(linear) * l1 - linear) / quadratic`` if ``|linear| > l1`` else 0.
    That is this update with ``z = linear``, ``n = accum`` and

        alpha = learning_rate, beta = beta, l1 = l1_regularization_strength,
        l2 = 2 * l2_regularization_strength, initial_accumulator_value = same,

    which :meth:`from_tensorflow` applies. (TensorFlow's L2 term is ``l2_tf * w**2`` in the
    objective, the paper's is ``l2 / 2 * w**2``; hence the factor 2.) The TensorFlow test
    vectors reproduced in ``tests/optim/test_ftrl.py`` check this mapping.

    References
    ----------
    H. B. McMahan et al. Ad Click Prediction: a View from the Trenches. KDD 2013.

    Examples
    --------
    >>> import numpy as np
    >>> opt = FtrlProximal(alpha=1.0, beta=1.0, l1=0.2, l2=0.0)
    >>> weights = np.zeros(3)
    >>> state = opt.init_state(weights)
    >>> # coordinate 1 appears twice: its gradients are summed to g = 0.5
    >>> opt.update_rows(weights, np.array([1, 1, 2]), np.array([0.25, 0.25, 0.1]), state)
    >>> state["z"].tolist(), state["n"].tolist()
    ([0.0, 0.5, 0.1], [0.0, 0.25, 0.010000000000000002])
    >>> weights.round(6).tolist()   # w_1 = -(0.5 - 0.2) / (1 + 0.5); |z_2| <= l1 gives 0
    [0.0, -0.2, 0.0]
    >>> FtrlProximal.from_tensorflow(0.1, l2_regularization_strength=0.5).get_config()["l2"]
    1.0
    """

    def __init__(self, alpha=defaults.FTRL_ALPHA, beta=defaults.FTRL_BETA, l1=defaults.FTRL_L1,
                 l2=defaults.FTRL_L2,
                 initial_accumulator_value=defaults.FTRL_INITIAL_ACCUMULATOR):
        if not (np.isfinite(alpha) and alpha > 0):
            raise ValueError(f"FtrlProximal: alpha must be a finite number > 0, got {alpha!r}")
        for name, value in (("beta", beta), ("l1", l1), ("l2", l2),
                            ("initial_accumulator_value", initial_accumulator_value)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"FtrlProximal: {name} must be finite and >= 0, "
                                 f"got {value!r}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.initial_accumulator_value = float(initial_accumulator_value)

    @classmethod
    def from_tensorflow(cls, learning_rate=0.001, initial_accumulator_value=0.1,
                        l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                        beta=0.0):
        """The optimizer equal to TensorFlow's FTRL with these arguments (its defaults are
        TensorFlow's; ``lr_power=-0.5``, no L2 shrinkage); see the class docstring."""
        return cls(alpha=learning_rate, beta=beta, l1=l1_regularization_strength,
                   l2=2.0 * l2_regularization_strength,
                   initial_accumulator_value=initial_accumulator_value)

    def init_state(self, param, dtype=None, allocate=in_memory):
        """``{"z": zeros, "n": full(initial_accumulator_value)}`` shaped and typed like
        ``param`` (an array), or of shape ``param`` (an int or tuple) and ``dtype``
        (default float32); made by ``allocate`` (`widedeep.storage`)."""
        if isinstance(param, np.ndarray):
            shape, dtype = param.shape, (param.dtype if dtype is None else dtype)
        else:
            shape, dtype = param, (np.float32 if dtype is None else dtype)
        return {"z": allocate(shape, dtype),
                "n": allocate(shape, dtype, self.initial_accumulator_value)}

    def weights(self, z, n):
        """Closed-form weights for accumulators ``z``, ``n`` (same shape); a new array.

        ``w = 0`` where ``|z| <= l1``, else ``-(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)``.
        """
        return closed_form_weights(np.asarray(z), np.asarray(n), self.alpha, self.beta,
                                   self.l1, self.l2)

    uses_workspace = True

    def _new_values(self, w, g, state, workspace=None, key="ftrl"):
        """Algorithm 1 on gathered coordinates: new (w, {z, n}), nothing written."""
        return ftrl_new_values(w, g, state, self.alpha, self.beta, self.l1, self.l2,
                               workspace, key)

    def scaled(self, factor):
        """A copy whose ``alpha`` (learning-rate scale) is ``factor`` times this one's
        (schedules). ``z`` and ``n`` stay valid: the closed form reads the current alpha."""
        return FtrlProximal(alpha=self.alpha * factor, beta=self.beta, l1=self.l1, l2=self.l2,
                            initial_accumulator_value=self.initial_accumulator_value)

    def get_config(self):
        """Constructor parameters as a JSON-able dict: ``FtrlProximal(**opt.get_config())``."""
        return {"alpha": self.alpha, "beta": self.beta, "l1": self.l1, "l2": self.l2,
                "initial_accumulator_value": self.initial_accumulator_value}


def closed_form_weights(z, n, alpha, beta, l1, l2, workspace=None, key="ftrl"):
    """FTRL-Proximal's weights from ``z``, ``n``; the hyper-parameters are numbers or arrays
    broadcasting against ``z`` (per-coordinate settings, `FieldwiseFtrl`). With a
    workspace the temporaries and the result are its buffers under ``key``.

    ``w = 0`` where ``|z| <= l1``, else ``(sign(z) l1 - z) / ((beta + sqrt(n)) / alpha + l2)``
    (each operation written into an output array, in the order of the formula).
    """
    shape, dtype = np.broadcast_shapes(np.shape(z), np.shape(n)), np.result_type(z, n)
    active = np.greater(np.abs(z, out=empty(workspace, key + "/a", shape, dtype)), l1,
                        out=empty(workspace, key + "/active", shape, bool))
    numerator = np.sign(z, out=empty(workspace, key + "/a", shape, dtype))
    numerator *= l1
    numerator -= z
    denominator = np.sqrt(n, out=empty(workspace, key + "/b", shape, dtype))
    np.add(beta, denominator, out=denominator)
    denominator /= alpha
    denominator += l2
    weights = empty(workspace, key + "/w", shape, dtype)
    weights[...] = 0
    # only active coordinates are divided: an inactive one may have a zero denominator
    return np.divide(numerator, denominator, out=weights, where=active)


def ftrl_new_values(w, g, state, alpha, beta, l1, l2, workspace=None, key="ftrl"):
    """Algorithm 1 on gathered coordinates ``(w, g, {z, n})``: new ``(w, {z, n})``,
    ``n' = n + g^2``, ``sigma = (sqrt(n') - sqrt(n)) / alpha``, ``z' = z + (g - sigma w)``.
    With a workspace every array is one of its buffers under ``key``."""
    z, n = state["z"], state["n"]
    shape, dtype = np.shape(w), np.result_type(w, g, z, n)
    n_new = np.multiply(g, g, out=empty(workspace, key + "/n", shape, dtype))
    np.add(n, n_new, out=n_new)
    sigma = np.sqrt(n_new, out=empty(workspace, key + "/sigma", shape, dtype))
    sigma -= np.sqrt(n, out=empty(workspace, key + "/a", shape, dtype))
    sigma /= alpha
    step = np.multiply(sigma, w, out=sigma)
    np.subtract(g, step, out=step)
    z_new = np.add(z, step, out=empty(workspace, key + "/z", shape, dtype))
    return closed_form_weights(z_new, n_new, alpha, beta, l1, l2, workspace, key), \
        {"z": z_new, "n": n_new}

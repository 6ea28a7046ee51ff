"""Finite-difference gradient checking, for the library's layers and for yours.

Central differences in float64: ``dL/dθ_j ≈ (L(θ + h e_j) - L(θ - h e_j)) / 2h``, error
O(h²). The relative error reported per coordinate is
``|a - n| / max(|a| + |n|, atol_floor)`` (a: analytic, n: numeric).

Check any layer that follows the layer protocol (``params``, ``forward`` returning
``(out, cache)``, ``backward(grad_out, cache) -> (grad_in, grads)``):

>>> import numpy as np
>>> from widedeep.layers import DenseLayer
>>> rng = np.random.default_rng(0)
>>> layer = DenseLayer.create(4, 3, rng, dtype=np.float64)
>>> report = check_layer(layer, rng.standard_normal((5, 4)))
>>> report.passed, sorted(report.errors)
(True, ['W', 'b', 'input'])

or any scalar loss of named parameters with `check_gradients`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["numerical_gradient", "check_gradients", "check_layer", "GradCheckReport"]


@dataclass
class GradCheckReport:
    """Result of a check: the largest relative error per parameter name."""

    errors: dict = field(default_factory=dict)
    rtol: float = 1e-5

    @property
    def passed(self):
        return all(e <= self.rtol for e in self.errors.values())

    @property
    def max_error(self):
        return max(self.errors.values()) if self.errors else 0.0

    def assert_passed(self):
        """Raise ``AssertionError`` listing every parameter over tolerance."""
        bad = {k: v for k, v in self.errors.items() if v > self.rtol}
        if bad:
            raise AssertionError(f"gradient check failed (rtol {self.rtol}): "
                                 + ", ".join(f"{k}: {v:.3g}" for k, v in bad.items()))
        return self

    def __repr__(self):
        body = ", ".join(f"{k}={v:.2e}" for k, v in self.errors.items())
        return f"GradCheckReport(passed={self.passed}, {body})"


def numerical_gradient(loss_fn, x, eps=1e-6, coords=None):
    """Central-difference gradient of ``loss_fn()`` w.r.t. array ``x`` (float64), perturbing
    ``x`` in place and restoring it. ``coords``: flat indices to check (default all); the
    result has x's shape with unchecked coordinates set to NaN."""
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks run in float64; got an array of {x.dtype}")
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so it can be perturbed in place")
    coords = np.arange(flat.size) if coords is None else np.asarray(coords)
    grad = np.full(flat.size, np.nan)
    for j in coords:
        original = flat[j]
        flat[j] = original + eps
        plus = loss_fn()
        flat[j] = original - eps
        minus = loss_fn()
        flat[j] = original
        grad[j] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape)


def _dense(grad, shape):
    if hasattr(grad, "to_dense"):
        return grad.to_dense(shape[0])
    return np.asarray(grad, dtype=np.float64).reshape(shape)


def check_gradients(loss_fn, params, analytic, *, eps=1e-6, rtol=1e-5, atol=1e-8,
                    max_coords=None, random_state=0):
    """Compare analytic gradients to central differences.

    Parameters
    ----------
    loss_fn : callable () -> float
        The scalar loss, reading the current contents of ``params``.
    params : dict[str, float64 ndarray]
        Arrays perturbed in place.
    analytic : dict[str, ndarray | RowSparseGrad]
        The gradients to verify; a name missing here is taken as an all-zero gradient.
    max_coords : int, optional
        Check at most this many randomly chosen coordinates per parameter (always all the
        coordinates where the analytic gradient is non-zero, up to that number).
    """
    rng = np.random.default_rng(random_state)
    report = GradCheckReport(rtol=rtol)
    for name, value in params.items():
        a = _dense(analytic[name], value.shape) if name in analytic else np.zeros(value.shape)
        coords = None
        if max_coords is not None and value.size > max_coords:
            nonzero = np.flatnonzero(a.reshape(-1))
            pick = rng.choice(value.size, size=max_coords, replace=False)
            coords = np.unique(np.concatenate([nonzero[:max_coords], pick]))
        n = numerical_gradient(loss_fn, value, eps, coords)
        mask = ~np.isnan(n)
        diff = np.abs(a[mask] - n[mask])
        scale = np.maximum(np.abs(a[mask]) + np.abs(n[mask]), atol)
        report.errors[name] = float(np.max(diff / scale)) if diff.size else 0.0
    return report


def check_layer(layer, x, *, training=False, seed=0, eps=1e-6, rtol=1e-5, check_input=True,
                max_coords=None):
    """Check ``layer``'s parameter (and input) gradients on input ``x``.

    The loss is ``L = sum(forward(x) * R)`` for a fixed random ``R``, so ``dL/dout = R``.
    With ``training=True`` every forward gets a fresh ``np.random.default_rng(seed)``: a
    stochastic layer (dropout) sees the same mask each time. The layer's parameters and a
    dense ``x`` must be float64. The input gradient is checked when ``x`` is a float array
    and ``check_input`` is true (reported as ``"input"``).
    """
    for name, value in layer.params.items():
        if value.dtype != np.float64:
            raise TypeError(f"parameter {name!r} is {value.dtype}; build the layer in float64 "
                            f"for gradient checking")

    def run():
        return layer.forward(x, training=training, rng=np.random.default_rng(seed))

    out, cache = run()
    r = np.random.default_rng(seed + 1).standard_normal(np.shape(out))
    grad_in, grads = layer.backward(r, cache)

    def loss():
        return float(np.sum(run()[0] * r)) + float(layer.penalty())

    params = dict(layer.params)
    analytic = dict(grads)
    if check_input and isinstance(x, np.ndarray) and x.dtype == np.float64 \
            and grad_in is not None:
        params["input"] = x
        analytic["input"] = grad_in
    return check_gradients(loss, params, analytic, eps=eps, rtol=rtol, max_coords=max_coords)

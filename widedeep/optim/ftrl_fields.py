"""`FieldwiseFtrl`: FTRL-Proximal whose hyper-parameters differ per block of coordinates.

The wide layer stores every field's coordinates in one contiguous array (field ``f`` at
``starts[f]``); one FTRL step updates a whole batch at once. To give fields their own
settings (say a stronger L1 on a cross-product field) without a Python loop over fields,
each updated coordinate looks its field up by binary search in ``starts`` (``O(k log F)``
for k coordinates and F fields, nothing stored per coordinate) and the FTRL arithmetic
(`widedeep.optim.ftrl.ftrl_new_values`, the same code as `FtrlProximal`) runs on arrays
of per-coordinate ``alpha``, ``beta``, ``l1``, ``l2``.

Examples
--------
Two fields of 2 coordinates; the second has L1 = 1, which keeps a small gradient's weight
at exactly 0 while the first field's weight moves:

>>> import numpy as np
>>> from widedeep.optim import FtrlProximal
>>> opt = FieldwiseFtrl([0, 2], [2, 2], [FtrlProximal(alpha=1.0, beta=1.0, l1=0.0, l2=0.0),
...                                      FtrlProximal(alpha=1.0, beta=1.0, l1=1.0, l2=0.0)])
>>> w = np.zeros(4)
>>> state = opt.init_state(w)
>>> opt.update_rows(w, np.array([0, 2]), np.array([0.5, 0.5]), state)
>>> w.round(4).tolist()   # w_0 = -0.5 / (1 + 0.5); |z_2| = 0.5 <= l1 = 1: w_2 = 0
[-0.3333, 0.0, 0.0, 0.0]
"""
from __future__ import annotations

import numpy as np

from ..segments import sum_duplicates
from ..storage import in_memory
from .base import Optimizer, PendingUpdate, _check_rows, cast_rows, gather_rows
from .ftrl import FtrlProximal, closed_form_weights, ftrl_new_values

__all__ = ["FieldwiseFtrl"]


class FieldwiseFtrl(Optimizer):
    """FTRL-Proximal with the settings of ``optimizers[j]`` on coordinates
    ``starts[j] : starts[j] + sizes[j]`` (blocks in ascending order, covering the array).

    ``default``: the optimizer whose ``alpha``/``beta`` the caller uses elsewhere (the wide
    layer's bias); by default the first block's.
    """

    def __init__(self, starts, sizes, optimizers, default=None):
        self.starts = np.asarray(starts, dtype=np.int64)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.optimizers = list(optimizers)
        if not (self.starts.ndim == 1 and self.starts.shape == self.sizes.shape
                == (len(self.optimizers),) and len(self.optimizers) > 0):
            raise ValueError("FieldwiseFtrl: starts, sizes and optimizers must have one entry "
                             "per block")
        if self.starts[0] != 0 or np.any(self.starts[1:] != np.cumsum(self.sizes)[:-1]):
            raise ValueError("FieldwiseFtrl: blocks must be consecutive from coordinate 0")
        for opt in self.optimizers:
            if not isinstance(opt, FtrlProximal):
                raise ValueError(f"FieldwiseFtrl: every block needs an FtrlProximal, got "
                                 f"{type(opt).__name__}")
        self.default = default or self.optimizers[0]
        self.hyper = {name: np.array([getattr(opt, name) for opt in self.optimizers])
                      for name in ("alpha", "beta", "l1", "l2", "initial_accumulator_value")}

    # the bias and the schedules read these, as from an FtrlProximal
    @property
    def alpha(self):
        return self.default.alpha

    @property
    def beta(self):
        return self.default.beta

    @property
    def initial_accumulator_value(self):
        return self.default.initial_accumulator_value

    def _settings(self, rows, ndim):
        """Per-coordinate (alpha, beta, l1, l2) for ``rows``, shaped to broadcast against
        entries of ``ndim`` dimensions."""
        block = np.searchsorted(self.starts, rows, side="right") - 1
        shape = (-1,) + (1,) * (ndim - 1)
        return [self.hyper[name][block].reshape(shape) for name in ("alpha", "beta", "l1", "l2")]

    def init_state(self, param, dtype=None, allocate=in_memory):
        """``{"z": zeros, "n": each block's initial accumulator}`` shaped and typed like
        ``param`` (an array; or a shape and ``dtype``, default float32), made by
        ``allocate`` (`widedeep.storage`)."""
        if isinstance(param, np.ndarray):
            shape, dtype = param.shape, (param.dtype if dtype is None else dtype)
        else:
            shape = tuple(np.atleast_1d(param).tolist())
            dtype = np.float32 if dtype is None else dtype
        n = allocate(shape, dtype)
        for start, size, initial in zip(self.starts, self.sizes,   # a loop over blocks
                                        self.hyper["initial_accumulator_value"]):
            n[start:start + size] = initial
        return {"z": allocate(shape, dtype), "n": n}

    def weights(self, z, n, rows=None):
        """Closed-form weights of coordinates ``rows`` (default all) from their ``z``, ``n``."""
        z = np.asarray(z)
        rows = np.arange(z.shape[0]) if rows is None else np.asarray(rows)
        return closed_form_weights(z, np.asarray(n), *self._settings(rows, z.ndim))

    def prepare(self, param, grad, state, check=True):
        return self.prepare_rows(param, np.arange(param.shape[0]), grad, state,
                                 assume_unique=True, check=check)

    def prepare_rows(self, param, rows, grad_rows, state, assume_unique=False, check=True,
                     workspace=None, key="rows"):
        """Like `Optimizer.prepare_rows`, each coordinate with its block's settings."""
        if check:
            rows, grad_rows = _check_rows(type(self).__name__, param, state, rows, grad_rows)
        if rows.shape[0] == 0:
            return PendingUpdate()
        if not assume_unique:
            rows, grad_rows = sum_duplicates(rows, grad_rows.astype(np.float64))
        grad_rows = cast_rows(grad_rows, param.dtype, workspace, key + "/grad")
        gathered = {name: gather_rows(state[name], rows, workspace, f"{key}/old/{name}")
                    for name in ("z", "n")}
        settings = [value.astype(param.dtype) for value in self._settings(rows, param.ndim)]
        new_param, new_state = ftrl_new_values(
            gather_rows(param, rows, workspace, key + "/old/param"), grad_rows, gathered,
            *settings, workspace=workspace, key=key)
        return PendingUpdate([(state[name], rows, value) for name, value in new_state.items()]
                             + [(param, rows, new_param)])

    def block_optimizer(self, index):
        return self.optimizers[index]

    def scaled(self, factor):
        """A copy with every block's ``alpha`` times ``factor`` (schedules)."""
        return FieldwiseFtrl(self.starts, self.sizes,
                             [opt.scaled(factor) for opt in self.optimizers],
                             default=self.default.scaled(factor))

    def get_config(self):
        return {"starts": self.starts.tolist(), "sizes": self.sizes.tolist(),
                "optimizers": [opt.get_config() for opt in self.optimizers]}

    def __repr__(self):
        return f"FieldwiseFtrl({len(self.optimizers)} blocks)"

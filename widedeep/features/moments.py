"""`RunningMoments`: streaming mean and standard deviation for standardized numeric columns.

Batches are merged with Chan et al.'s parallel update, in float64::

    n = n_a + n_b,  delta = mean_b - mean_a
    mean = mean_a + delta * n_b / n
    M2 = M2_a + M2_b + delta^2 * n_a * n_b / n          std = sqrt(M2 / n)   (population)

so a streaming fit over chunks equals the in-memory one up to float rounding (~1e-15
relative). A zero standard deviation (constant column) is reported as 1, so standardizing
never divides by zero.

>>> m = RunningMoments()
>>> m.update(np.array([1.0, 2.0])); m.update(np.array([3.0, 4.0, 5.0]))
>>> m.mean, round(m.std, 6)
(3.0, 1.414214)
"""
from __future__ import annotations

import numpy as np

__all__ = ["RunningMoments"]


class RunningMoments:
    """Count, mean and sum of squared deviations of a stream of floats."""

    def __init__(self):
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0

    def update(self, values):
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        n_b = values.shape[0]
        if n_b == 0:
            return
        mean_b = float(values.mean())
        self.merge((n_b, mean_b, float(np.square(values - mean_b).sum())))

    def state(self):
        """``(count, mean, M2)``: what `merge` takes (a part of the stream summarized)."""
        return (self.count, self.mean, self._m2)

    def merge(self, state):
        """Add the moments ``(count, mean, M2)`` of other values (Chan et al.)."""
        n_b, mean_b, m2_b = int(state[0]), float(state[1]), float(state[2])
        if n_b == 0:
            return
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self._m2 += m2_b + delta * delta * self.count * n_b / n
        self.count = n

    @property
    def std(self):
        """Population standard deviation; 1.0 when it is 0 or nothing was seen."""
        if self.count == 0:
            return 1.0
        std = float(np.sqrt(self._m2 / self.count))
        return std if std > 0.0 else 1.0

"""Early stopping: remember the best epoch and say when to stop.

After each epoch the watched score (`EvalMetric.score`: larger is better) is compared with
the best so far; a strictly better one becomes the best, and its parameters are copied
(``snapshot()``; the training loop writes them to disk, `state_on_disk.StateOnDisk`, so the
copy costs no memory). Training stops once ``n_iter_no_change`` epochs in a row brought no
improvement; the caller then restores the best epoch's copy. A NaN score (e.g. AUC on an
evaluation set with one class) never counts as an improvement.
"""
from __future__ import annotations

import math

__all__ = ["BestEpoch"]


class BestEpoch:
    """Tracks the best epoch of one `fit` call.

    >>> best = BestEpoch(n_iter_no_change=2)
    >>> [best.update(score, epoch, lambda: epoch) for epoch, score in
    ...  enumerate([0.5, 0.7, 0.6, 0.7], start=1)]
    [False, False, False, True]
    >>> best.epoch, best.state
    (2, 2)
    """

    def __init__(self, n_iter_no_change):
        self.n_iter_no_change = n_iter_no_change
        self.score = None
        self.epoch = None
        self.state = None
        self.epochs_without_improvement = 0

    def update(self, score, epoch, snapshot):
        """Record epoch ``epoch``'s ``score``; True when training should stop."""
        if not math.isnan(score) and (self.score is None or score > self.score):
            self.score, self.epoch, self.state = score, epoch, snapshot()
            self.epochs_without_improvement = 0
            return False
        self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.n_iter_no_change

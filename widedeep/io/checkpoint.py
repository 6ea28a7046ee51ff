"""`Checkpoint`: save the model every ``every_steps`` training steps during `fit`.

A callback (`widedeep.estimators.callbacks`) that calls `save_model` (atomic: a crash
while saving leaves the previous checkpoint loadable) into one directory after every
``every_steps``-th step, and, with ``at_end=True``, once when training ends. A checkpoint
taken inside an epoch records where the epoch stands (``epoch_progress`` in the training
state: batches and rows done, the epoch's loss sums), so training resumes from it exactly::

    model.fit(X, y, epochs=10, callbacks=[Checkpoint("ckpt", every_steps=1000)])
    # ... the process dies; later, in a new process:
    model = load_model("ckpt").set_params(warm_start=True)
    model.fit(X, y, epochs=10 - model.epochs_trained_)   # finishes the interrupted epoch

The resumed run skips the batches of the interrupted epoch that were already trained
(in-memory data: the epoch's shuffle is redrawn from the seed; a stream is read and its
first batches dropped; a reader's pass ``k`` is replayed with ``iter_epoch(k)``) and then
equals the uninterrupted run: same parameters, optimizer state, dropout masks and history
(except the timings). Early stopping tracks its best epoch within one `fit` call: a resumed
run starts tracking anew, so give the resumed `fit` the same ``eval_set`` and expect the
best epoch of its own epochs only. With ``storage="memmap"`` the checkpoint copies the
tables into the model directory (the scratch files are not a checkpoint).
"""
from __future__ import annotations

import numbers
import os

from ..estimators.callbacks import Callback
from .saving import save_model

__all__ = ["Checkpoint"]


class Checkpoint(Callback):
    """Save the model into ``directory`` every ``every_steps`` steps of `fit`
    (``save_model``; ``spec``: a `FeatureSpec` saved with it); ``at_end``: also when
    training ends. ``saved_steps`` lists the ``steps_trained_`` of every save."""

    def __init__(self, directory, every_steps, spec=None, at_end=True):
        if isinstance(every_steps, bool) or not isinstance(every_steps, numbers.Integral) \
                or every_steps < 1:
            raise ValueError(f"Checkpoint: every_steps must be an int >= 1, got "
                             f"{every_steps!r}")
        if not isinstance(directory, (str, os.PathLike)):
            raise ValueError(f"Checkpoint: directory must be a path, got {directory!r}")
        self.directory = os.fspath(directory)
        self.every_steps = int(every_steps)
        self.spec = spec
        self.at_end = bool(at_end)
        self.saved_steps = []

    def save(self, estimator):
        save_model(estimator, self.directory, spec=self.spec)
        self.saved_steps.append(int(estimator.steps_trained_))

    def on_batch_end(self, estimator, record):
        if estimator.steps_trained_ % self.every_steps == 0:
            self.save(estimator)

    def on_train_end(self, estimator, record):
        if self.at_end and (not self.saved_steps
                            or self.saved_steps[-1] != estimator.steps_trained_):
            self.save(estimator)

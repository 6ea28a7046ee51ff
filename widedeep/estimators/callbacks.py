"""Callbacks: user code called by `fit` at the start and end of training, of every epoch and
of every batch.

Subclass `Callback` and override the hooks you need; pass instances as
``fit(..., callbacks=[...])``. Each hook receives the estimator and a record (a dict):

==================  =====================================================================
``on_train_begin``  ``{"epochs": cap, "rows": training rows per epoch or None (stream),
                    "eval_sets": [names], "early_stopping": bool}``
``on_epoch_begin``  ``{"epoch": number (1-based, over the model's whole training)}``
``on_batch_begin``  ``{"epoch", "batch" (1-based within the epoch), "rows"}``
``on_batch_end``    ``{"epoch", "batch", "rows", "loss" (the batch's training loss),
                    "rows_done" (this epoch, so far)}``
``on_epoch_end``    the epoch's `history_` record (``"epoch"``, ``"train_loss"``, eval
                    metrics as ``"<set>_<metric>"``, ``"examples"``, ``"seconds"``, ...)
``on_train_end``    ``{"epochs_run", "best_epoch" (None without early stopping),
                    "stopped_by": "early_stopping" | "callback" | "epochs"}``
==================  =====================================================================

A hook that returns ``True`` stops training: after the current batch (batch hooks) or
epoch (epoch hooks). Training stopped by a callback is a normal end: the model is kept as
it is (or restored to the best epoch, with early stopping), ``history_`` has every
finished epoch, and `on_train_end` runs. Records are the estimator's own data: do not
modify them.

Example: stop once the validation AUC passes 0.9.

>>> class StopAt(Callback):
...     def __init__(self, auc):
...         self.auc = auc
...     def on_epoch_end(self, estimator, record):
...         return record.get("validation_auc", 0.0) >= self.auc
>>> StopAt(0.9).on_epoch_end(None, {"validation_auc": 0.91})
True
"""
from __future__ import annotations

__all__ = ["Callback", "HOOKS", "check_callbacks", "call_hooks"]

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_batch_begin", "on_batch_end")


class Callback:
    """Base class with every hook doing nothing."""

    def on_train_begin(self, estimator, record):
        return None

    def on_train_end(self, estimator, record):
        return None

    def on_epoch_begin(self, estimator, record):
        return None

    def on_epoch_end(self, estimator, record):
        return None

    def on_batch_begin(self, estimator, record):
        return None

    def on_batch_end(self, estimator, record):
        return None


def check_callbacks(callbacks):
    """``callbacks`` as a list; ``ValueError`` naming the first object without the hooks."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for k, callback in enumerate(callbacks):
        missing = [hook for hook in HOOKS if not callable(getattr(callback, hook, None))]
        if missing:
            raise ValueError(f"callbacks[{k}] ({type(callback).__name__}) lacks {missing}: "
                             f"subclass widedeep.estimators.callbacks.Callback")
    return callbacks


def call_hooks(callbacks, hook, estimator, record):
    """Call ``hook`` of every callback (all of them, in order); True if any asked to stop."""
    stop = False
    for callback in callbacks:
        if getattr(callback, hook)(estimator, record) is True:
            stop = True
    return stop

"""Callbacks: every hook is called in order with its record, and a hook can stop training."""
import numpy as np

from widedeep import WideEstimator
from widedeep.estimators.callbacks import Callback

from estimator_world import model_params


def wide(world, **kw):
    kw.setdefault("random_state", 0)
    kw.setdefault("early_stopping", False)
    return WideEstimator(model_params(world)["wide_fields"], **kw)


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, estimator, record):
        self.calls.append(("train_begin", dict(record)))

    def on_epoch_begin(self, estimator, record):
        self.calls.append(("epoch_begin", dict(record)))

    def on_batch_begin(self, estimator, record):
        self.calls.append(("batch_begin", dict(record)))

    def on_batch_end(self, estimator, record):
        self.calls.append(("batch_end", dict(record)))

    def on_epoch_end(self, estimator, record):
        self.calls.append(("epoch_end", record))

    def on_train_end(self, estimator, record):
        self.calls.append(("train_end", dict(record)))


def test_hooks_run_in_order_with_their_records(world, small_data):
    (X, y), _ = small_data
    recorder = Recorder()
    model = wide(world, epochs=2, batch_size=1000).fit(wide_X(X), y, callbacks=[recorder])
    names = [name for name, _ in recorder.calls]
    one_epoch = ["epoch_begin", "batch_begin", "batch_end", "batch_begin", "batch_end",
                 "epoch_end"]
    assert names == ["train_begin"] + one_epoch * 2 + ["train_end"]
    assert recorder.calls[0][1] == {"epochs": 2, "rows": 2000, "eval_sets": [],
                                    "early_stopping": False}
    batch_end = recorder.calls[3][1]
    assert (batch_end["epoch"], batch_end["batch"], batch_end["rows"],
            batch_end["rows_done"]) == (1, 1, 1000, 1000)
    assert np.isfinite(batch_end["loss"])
    assert recorder.calls[6][1] is model.history_[0]          # the epoch's history record
    assert recorder.calls[-1][1] == {"epochs_run": 2, "best_epoch": None,
                                     "stopped_by": "epochs"}


def test_an_epoch_hook_returning_true_stops_training_after_that_epoch(world, small_data):
    (X, y), _ = small_data

    class StopAfterTwo(Callback):
        def on_epoch_end(self, estimator, record):
            return record["epoch"] == 2

    recorder = Recorder()
    model = wide(world, epochs=10).fit(wide_X(X), y, callbacks=[StopAfterTwo(), recorder])
    assert [h["epoch"] for h in model.history_] == [1, 2]
    assert recorder.calls[-1][1]["stopped_by"] == "callback"


def test_a_batch_hook_returning_true_stops_after_that_batch(world, small_data):
    (X, y), _ = small_data

    class StopAtThirdBatch(Callback):
        def on_batch_end(self, estimator, record):
            return record["batch"] == 3

    model = wide(world, epochs=5, batch_size=100).fit(wide_X(X), y,
                                                      callbacks=[StopAtThirdBatch()])
    assert model.steps_trained_ == 3 and model.history_[0]["examples"] == 300
    assert len(model.history_) == 1


def test_an_object_without_the_hooks_is_refused(world, small_data):
    (X, y), _ = small_data
    import pytest
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(object\) lacks"):
        wide(world).fit(wide_X(X), y, callbacks=[object()])


def test_stopping_at_an_epochs_begin_still_finishes_that_epoch(world, small_data):
    (X, y), _ = small_data

    class StopAtSecondEpoch(Callback):
        def on_epoch_begin(self, estimator, record):
            return record["epoch"] == 2

    model = wide(world, epochs=5, batch_size=500).fit(wide_X(X), y,
                                                      callbacks=[StopAtSecondEpoch()])
    assert len(model.history_) == 2 and model.steps_trained_ == 8

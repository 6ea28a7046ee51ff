"""`Checkpoint`: periodic saves during `fit`; a run killed between two checkpoints and
resumed from the last one equals the uninterrupted run, also when the checkpoint was taken
inside an epoch (in-memory data and a shuffled reader)."""
import json
import os

import numpy as np
import pytest

from widedeep.estimators.callbacks import Callback
from widedeep.io import Checkpoint, load_model, read_manifest
from widedeep.readers import LibsvmReader

from io_helpers import assert_same_state, make_model, synthetic


class Crash(Exception):
    pass


class CrashAt(Callback):
    """Dies after step ``step`` (after the checkpoint callbacks listed before it ran)."""

    def __init__(self, step):
        self.step = step

    def on_batch_end(self, estimator, record):
        if estimator.steps_trained_ == self.step:
            raise Crash


def without_timings(history):
    return [{k: v for k, v in record.items() if k not in ("seconds", "examples_per_second")}
            for record in history]


def assert_same_run(resumed, uninterrupted):
    assert_same_state(resumed, uninterrupted)
    assert resumed.steps_trained_ == uninterrupted.steps_trained_
    assert resumed.epochs_trained_ == uninterrupted.epochs_trained_
    assert resumed.get_training_state()["dropout_rng"] == \
        uninterrupted.get_training_state()["dropout_rng"]
    assert without_timings(resumed.history_) == without_timings(uninterrupted.history_)


@pytest.mark.parametrize("crash_step", [11, 16, 21])   # mid-epoch 2, its end, epoch 3
def test_resuming_from_a_mid_epoch_checkpoint_equals_the_uninterrupted_run(tmp_path,
                                                                          crash_step):
    X, y = synthetic()                       # 240 rows / 32: 8 batches per epoch
    settings = dict(dropout=0.3, shuffle=True, dtype=np.float64)
    X_eval, y_eval = synthetic(seed=1)
    uninterrupted = make_model(**settings).fit(X, y, epochs=4, eval_set=(X_eval, y_eval))

    checkpoint = Checkpoint(tmp_path / "ckpt", every_steps=5)
    with pytest.raises(Crash):
        make_model(**settings).fit(X, y, epochs=4, eval_set=(X_eval, y_eval),
                                   callbacks=[checkpoint, CrashAt(crash_step)])
    last = crash_step - crash_step % 5
    assert checkpoint.saved_steps == list(range(5, last + 1, 5))
    resumed = load_model(tmp_path / "ckpt")
    assert resumed.steps_trained_ == last
    assert resumed.epochs_trained_ == last // 8
    progress = resumed.epoch_progress_
    assert progress == (None if last % 8 == 0 else
                        {"epoch": last // 8 + 1, "batches": last % 8, "rows": 32 * (last % 8),
                         "loss_sum": progress["loss_sum"],
                         "weight_sum": float(32 * (last % 8))})
    resumed.set_params(warm_start=True).fit(X, y, epochs=4 - resumed.epochs_trained_,
                                            eval_set=(X_eval, y_eval))
    assert_same_run(resumed, uninterrupted)


def test_a_shuffled_reader_resumes_mid_epoch_exactly(tmp_path):
    X, y = synthetic()
    rows = [f"{int(label)} " + " ".join(f"{i}:1" for i in sorted(set(ids)))
            for label, ids in zip(y, np.stack([X["a"].feature_ids, X["a"].feature_ids + 20,
                                               (X["a"].feature_ids * 7) % 40], axis=1))]
    path = tmp_path / "train.svm"
    path.write_text("\n".join(rows) + "\n")

    def reader():
        return LibsvmReader(path, batch_size=30, n_features=40, shuffle_buffer=64,
                            random_state=3)

    from widedeep import WideEstimator
    params = make_model("wide").get_params()
    params.pop("wide_fields")

    def model():
        return WideEstimator({"features": 40}, **params)

    uninterrupted = model().fit(reader(), epochs=3)
    with pytest.raises(Crash):
        model().fit(reader(), epochs=3, callbacks=[Checkpoint(tmp_path / "c", every_steps=4),
                                                   CrashAt(14)])
    resumed = load_model(tmp_path / "c")
    assert (resumed.epochs_trained_, resumed.epoch_progress_["batches"]) == (1, 4)
    resumed.set_params(warm_start=True).fit(reader(), epochs=2)   # a fresh reader object
    assert_same_run(resumed, uninterrupted)


def test_checkpoint_saves_at_the_end_and_names_bad_settings(tmp_path):
    X, y = synthetic()
    checkpoint = Checkpoint(tmp_path / "c", every_steps=100)
    model = make_model().fit(X, y, epochs=1, callbacks=[checkpoint])
    assert checkpoint.saved_steps == [8]
    assert_same_state(load_model(tmp_path / "c"), model)
    assert load_model(tmp_path / "c").epoch_progress_ is None
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="every_steps must be an int >= 1"):
            Checkpoint(tmp_path / "d", every_steps=bad)


def test_a_damaged_epoch_progress_is_refused_naming_the_key(tmp_path):
    X, y = synthetic()
    with pytest.raises(Crash):
        make_model().fit(X, y, epochs=2, callbacks=[Checkpoint(tmp_path / "c", every_steps=3),
                                                    CrashAt(4)])
    manifest = read_manifest(tmp_path / "c")
    filename = os.path.join(tmp_path, "c", manifest["snapshot"], "training_state.json")
    with open(filename) as handle:
        state = json.load(handle)
    state["epoch_progress"]["batches"] = -1
    with open(filename, "w") as handle:
        json.dump(state, handle)
    with pytest.raises(ValueError, match="training_state.json: epoch_progress.batches must be a "
                                         "non-negative int"):
        load_model(tmp_path / "c", verify=False)

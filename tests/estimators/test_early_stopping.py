"""Early stopping: automatic hold-out (deterministic, stratified), restoring the best epoch,
named eval sets, streams, and the parameters' validation."""
import logging

import numpy as np
import pytest

from widedeep import WideDeepEstimator, WideEstimator
from widedeep.estimators.batching import slice_rows
from widedeep.estimators.holdout import holdout_rows

from estimator_world import model_params


def joint(world, **kw):
    p = model_params(world)
    kw.setdefault("epochs", 3)
    kw.setdefault("random_state", 0)
    return WideDeepEstimator(p["wide_fields"], **p["deep"], **kw)


def wide(world, **kw):
    kw.setdefault("random_state", 0)
    return WideEstimator(model_params(world)["wide_fields"], **kw)


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


def test_holdout_is_stratified_and_deterministic_for_a_seed():
    y = np.array([0] * 90 + [1] * 30)
    train, held = holdout_rows(y, 0.1, seed=[5, 3], stratify=True)
    again = holdout_rows(y, 0.1, seed=[5, 3], stratify=True)[1]
    other = holdout_rows(y, 0.1, seed=[6, 3], stratify=True)[1]
    assert np.array_equal(held, again) and not np.array_equal(held, other)
    assert (np.sum(y[held] == 0), np.sum(y[held] == 1)) == (9, 3)   # 10% of each class
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.arange(120))


def test_auto_holds_out_the_validation_fraction_and_records_it(world, small_data):
    (X, y), _ = small_data
    model = wide(world, epochs=2, validation_fraction=0.2).fit(wide_X(X), y)
    record = model.history_[0]
    assert record["examples"] == 1600                      # 2000 rows minus 20% held out
    assert {"validation_logloss", "validation_auc", "validation_accuracy"} <= set(record)
    assert model.best_epoch_ in (1, 2)


def test_auto_holdout_is_the_same_split_for_the_same_random_state(world, small_data):
    (X, y), _ = small_data
    a = wide(world, epochs=1, random_state=4).fit(wide_X(X), y)
    b = wide(world, epochs=1, random_state=4).fit(wide_X(X), y)
    c = wide(world, epochs=1, random_state=5).fit(wide_X(X), y)
    assert a.history_[0]["validation_logloss"] == b.history_[0]["validation_logloss"]
    assert a.history_[0]["validation_logloss"] != c.history_[0]["validation_logloss"]


def test_training_on_the_kept_rows_equals_training_without_the_held_out_rows(world,
                                                                              small_data):
    (X, y), _ = small_data
    X = wide_X(X)
    auto = wide(world, epochs=2, random_state=3, shuffle=False, n_iter_no_change=5).fit(X, y)
    train_rows, _ = holdout_rows(y, 0.1, seed=[3, 3], stratify=True)
    manual = wide(world, epochs=2, random_state=3, shuffle=False, early_stopping=False).fit(
        {k: v.take(train_rows) for k, v in X.items()}, y[train_rows])
    for key, value in manual.get_state().items():
        assert np.array_equal(auto.get_state()[key], value), key


def test_stops_after_n_iter_no_change_and_restores_the_best_epoch(world, small_data):
    (X, y), (X_test, y_test) = small_data
    from widedeep import Adagrad
    model = joint(world, epochs=15, n_iter_no_change=2, adagrad=Adagrad(lr=1.0)).fit(
        X, y, eval_set=(X_test, y_test))
    losses = [h["eval_logloss"] for h in model.history_]
    best = int(np.argmin(losses)) + 1
    assert model.best_epoch_ == best
    assert len(losses) == best + 2 < 15                    # stopped 2 epochs after the best
    assert model.evaluate(X_test, y_test)["logloss"] == pytest.approx(losses[best - 1],
                                                                      rel=1e-6)


def test_named_eval_sets_are_tracked_separately_and_a_named_one_is_watched(world, small_data):
    (X, y), (X_test, y_test) = small_data
    half = slice_rows(X_test, 0, 500), y_test[:500]
    rest = slice_rows(X_test, 500, 1000), y_test[500:]
    model = joint(world, epochs=4, early_stopping="test", eval_metric="auc").fit(
        X, y, eval_set={"valid": half, "test": rest})
    aucs = [h["test_auc"] for h in model.history_]
    assert model.best_epoch_ == int(np.argmax(aucs)) + 1
    best = model.history_[model.best_epoch_ - 1]
    # each set's numbers are its own: the restored model reproduces both
    assert best["valid_auc"] == pytest.approx(model.evaluate(*half)["auc"], rel=1e-6)
    assert best["test_auc"] == pytest.approx(model.evaluate(*rest)["auc"], rel=1e-6)
    assert best["valid_auc"] != best["test_auc"]


def test_stream_without_eval_set_turns_auto_off_and_says_so_once(world, small_data, caplog):
    (X, y), _ = small_data
    X = wide_X(X)
    batches = [(slice_rows(X, s, s + 500), y[s:s + 500]) for s in range(0, 2000, 500)]
    with caplog.at_level(logging.INFO, logger="widedeep"):
        model = wide(world, epochs=3).fit(batches)
    messages = [r.getMessage() for r in caplog.records if "early stopping is off" in
                r.getMessage()]
    assert len(messages) == 1 and "stream" in messages[0]
    assert len(model.history_) == 3 and model.best_epoch_ is None
    with pytest.raises(ValueError, match="early_stopping=True with a stream needs an eval_set"):
        wide(world, early_stopping=True).fit(batches)


@pytest.mark.parametrize("params, message", [
    (dict(early_stopping=1), "early_stopping must be 'auto', True, False"),
    (dict(validation_fraction=1.0), "validation_fraction must be a number in"),
    (dict(n_iter_no_change=0), "n_iter_no_change must be an int >= 1"),
    (dict(early_stopping="valid"), "early_stopping='valid' names no eval set"),
    (dict(epochs=0), "epochs must be an int >= 1"),
])
def test_bad_early_stopping_settings_raise_naming_the_parameter(world, small_data, params,
                                                                message):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match=message):
        wide(world, **params).fit(wide_X(X), y)


def test_too_small_data_turns_auto_off_but_true_raises(world, small_data):
    (X, y), _ = small_data
    tiny = {k: v.slice(0, 4) for k, v in wide_X(X).items()}
    model = wide(world, epochs=2).fit(tiny, y[:4])
    assert len(model.history_) == 2 and model.best_epoch_ is None
    with pytest.raises(ValueError, match="early_stopping=True: validation_fraction=0.1 of 4"):
        wide(world, early_stopping=True).fit(tiny, y[:4])


def test_restored_best_epoch_is_bit_identical_to_a_run_stopped_there(world, small_data):
    # the independent reference: the same model trained for exactly best_epoch_ epochs
    (X, y), (X_test, y_test) = small_data
    from widedeep import Adagrad
    stopped = joint(world, epochs=15, n_iter_no_change=2, adagrad=Adagrad(lr=1.0),
                    dtype=np.float64).fit(X, y, eval_set=(X_test, y_test))
    assert stopped.best_epoch_ < stopped.epochs_trained_      # something was restored
    reference = joint(world, epochs=stopped.best_epoch_, early_stopping=False,
                      adagrad=Adagrad(lr=1.0), dtype=np.float64).fit(X, y)
    restored, expected = stopped.get_state(), reference.get_state()
    assert set(restored) == set(expected)
    for key, value in expected.items():                       # parameters and optimizer
        assert np.array_equal(restored[key], value), key


def test_the_best_epoch_copy_is_kept_on_disk_not_in_memory(world, small_data, tmp_path,
                                                           monkeypatch):
    # a 200 000 x 16 float32 table (12.8 MB, its AdaGrad accumulator as much): an in-memory
    # copy of the best epoch would add >= 25 MB to the peak of fit; the files go to TMPDIR
    import tempfile
    import tracemalloc

    from widedeep import DeepEstimator
    from widedeep.estimators.callbacks import Callback
    (X, y), (X_test, y_test) = small_data
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    params = dict(vocabularies={"user": (200_000, 16)}, embedding_fields={"user": "user"},
                  hidden_units=(8,), epochs=3, n_iter_no_change=5, random_state=0)
    X, X_test = {"user": X["user"]}, {"user": X_test["user"]}
    seen = []

    class Look(Callback):   # the saved files exist while training runs
        def on_epoch_end(self, model, logs):
            seen.append(sum(f.stat().st_size for f in tmp_path.rglob("*.npy")))

    peaks = {}
    for early in (False, "eval"):
        model = DeepEstimator(**params, early_stopping=early)
        tracemalloc.start()
        model.fit(X, y, eval_set={"eval": (X_test, y_test)}, callbacks=[Look()])
        peaks[early] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert max(seen) >= 2 * 200_000 * 16 * 4                  # the table and accumulator
    assert peaks["eval"] < peaks[False] + 4_000_000
    assert list(tmp_path.rglob("*.npy")) == []                # deleted when fit returned

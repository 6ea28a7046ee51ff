import threading

import numpy as np
import pytest

from widedeep import (DeepEstimator, NotFittedError, SparseInput, WideDeepEstimator,
                      WideEstimator)

from estimator_world import model_params


def joint(world, **kw):
    p = model_params(world)
    kw.setdefault("epochs", 2)
    kw.setdefault("random_state", 0)
    kw.setdefault("early_stopping", False)   # tests of early stopping turn it on
    return WideDeepEstimator(p["wide_fields"], **p["deep"], **kw)


def states_equal(a, b):
    sa, sb = a.get_state(), b.get_state()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_constructor_only_stores_parameters(world):
    model = joint(world, dropout=0.2)
    assert model.get_params()["dropout"] == 0.2
    assert not any(name.endswith("_") for name in vars(model))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict_proba({})


def test_fit_returns_self_and_records_history(world, small_data):
    (X, y), (X_test, y_test) = small_data
    model = joint(world, epochs=3)
    assert model.fit(X, y, eval_set=(X_test, y_test)) is model
    assert [h["epoch"] for h in model.history_] == [1, 2, 3]
    assert {"train_logloss", "eval_logloss", "eval_auc", "eval_accuracy",
            "examples_per_second"} <= set(model.history_[0])
    assert model.history_[0]["examples"] == 2000


def test_same_random_state_repeats_exactly_and_another_differs(world, small_data):
    (X, y), _ = small_data
    a = joint(world, dropout=0.3).fit(X, y)
    b = joint(world, dropout=0.3).fit(X, y)
    c = joint(world, dropout=0.3, random_state=1).fit(X, y)
    assert states_equal(a, b)
    assert not states_equal(a, c)


def test_float64_selectable(world, small_data):
    (X, y), _ = small_data
    model = joint(world, dtype=np.float64, epochs=1).fit(X, y)
    assert all(v.dtype == np.float64 for v in model.get_state().values())
    assert model.predict_proba(X).dtype == np.float64
    assert joint(world, epochs=1).fit(X, y).predict_proba(X).dtype == np.float32


def test_batch_iterable_equals_in_memory_without_shuffle(world, small_data):
    from widedeep.estimators.batching import slice_rows
    (X, y), _ = small_data
    batches = [(slice_rows(X, s, s + 256), y[s:s + 256]) for s in range(0, 2000, 256)]
    a = joint(world, shuffle=False).fit(X, y)
    b = joint(world).fit(batches)
    assert states_equal(a, b)


def test_predicting_does_not_mutate_and_is_thread_safe(world, small_data):
    (X, y), (X_test, _) = small_data
    model = joint(world, dropout=0.3).fit(X, y)
    before = model.get_state(copy=True)
    first = model.predict_proba(X_test)
    results = [None] * 8

    def work(k):
        results[k] = model.predict_proba(X_test)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, first)
    np.testing.assert_array_equal(model.predict_proba(X_test), first)
    after = model.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_early_stopping_restores_best_epoch(world, small_data):
    (X, y), (X_test, y_test) = small_data
    model = joint(world, epochs=12, early_stopping=True, n_iter_no_change=2,
                  adagrad=__import__("widedeep").Adagrad(lr=1.0)).fit(
        X, y, eval_set=(X_test, y_test))
    losses = [h["eval_logloss"] for h in model.history_]
    best = int(np.argmin(losses)) + 1
    assert model.best_epoch_ == best
    assert model.evaluate(X_test, y_test)["logloss"] == pytest.approx(min(losses), rel=1e-6)


def test_wide_and_deep_alone_and_partial_fit(world, small_data):
    (X, y), (X_test, y_test) = small_data
    p = model_params(world)
    wide = WideEstimator(p["wide_fields"], random_state=0)
    for s in range(0, 2000, 500):
        wide.partial_fit({k: v.slice(s, s + 500) for k, v in X.items()
                          if isinstance(v, SparseInput)}, y[s:s + 500])
    assert wide.steps_trained_ == 4
    assert np.all(np.isfinite(wide.predict_logit(X_test)))
    deep = DeepEstimator(**p["deep"], epochs=1, random_state=0).fit(X, y)
    assert deep.predict(X_test).shape == (1000,)


@pytest.mark.parametrize("corrupt, message", [
    (lambda X, y: (X, np.where(y == 1, 2.0, y)), "labels must be 0 or 1; row"),
    (lambda X, y: ({**X, "context": np.where(np.arange(len(y))[:, None] == 7, np.nan,
                                             X["context"])}, y),
     "dense field 'context': non-finite value nan at row 7"),
    (lambda X, y: ({**X, "item": SparseInput.from_ids(np.full(len(y), 999))}, y),
     "'item'.*out of range"),
    (lambda X, y: ({("usr" if k == "user" else k): v for k, v in X.items()}, y),
     r"missing wide field\(s\) \['user'\].*does not use: \['usr'\]"),
    (lambda X, y: (X, y[:-1]), r"labels must have shape \[2000\]"),
    (lambda X, y: ({**X, "context": X["context"][:, :1]}, y), r"expected shape \[n, 2\]"),
])
def test_bad_input_raises_before_any_parameter_changes(world, small_data, corrupt, message):
    (X, y), _ = small_data
    model = joint(world, epochs=1).fit(X, y)
    before = model.get_state(copy=True)
    bad_X, bad_y = corrupt(X, y)
    with pytest.raises((ValueError, TypeError), match=message):
        model.partial_fit(bad_X, bad_y)
    after = model.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert model.steps_trained_ == 8


def test_online_wide_mode_trains(world, small_data):
    (X, y), (X_test, y_test) = small_data
    small = {k: (v.slice(0, 300) if isinstance(v, SparseInput) else v[:300])
             for k, v in X.items()}
    model = joint(world, wide_mode="online", epochs=1).fit(small, y[:300])
    assert np.any(model.wide_.params["group_x_item"] != 0)
    with pytest.raises(ValueError, match="wide_mode must be one of"):
        joint(world, wide_mode="stream").fit(small, y[:300])


def test_zero_sample_weights_leave_training_finite(world, small_data):
    (X, y), _ = small_data
    w = np.zeros(2000)
    w[:1000] = 1.0
    model = joint(world, epochs=1, shuffle=False).fit(X, y, sample_weight=w)
    assert all(np.isfinite(h["train_logloss"]) for h in model.history_)

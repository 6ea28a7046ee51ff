"""A failed fit or partial_fit leaves a fitted model bit-identical: every bad
hyper-parameter and bad input raises before the first change; a bad streamed batch raises
with its global rows and leaves the model as after the last good batch; an overflowing step
raises before writing."""
import copy

import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator
from widedeep.optim.base import NonFiniteUpdateError

N_USERS, N_ITEMS = 20, 8


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    users, items = rng.integers(0, N_USERS, n), rng.integers(0, N_ITEMS, n)
    X = {"user": SparseInput.from_ids(users), "item": SparseInput.from_ids(items),
         "num": rng.standard_normal((n, 2)).astype(np.float32)}
    return X, (rng.random(n) < 0.4).astype(float)


def model(**extra):
    params = dict(wide_fields={"user": N_USERS, "item": N_ITEMS},
                  vocabularies={"user": (N_USERS, 3), "item": (N_ITEMS, 3)},
                  embedding_fields={"user": "user", "item": "item"}, dense_fields={"num": 2},
                  hidden_units=(6,), dropout=0.2, epochs=2, batch_size=64, random_state=0,
        early_stopping=False)
    params.update(extra)
    return WideDeepEstimator(**params)


@pytest.fixture
def fitted():
    X, y = data()
    return model().fit(X, y)


def snapshot(m):
    return m.get_state(copy=True), copy.deepcopy(m.get_training_state())


def assert_unchanged(m, before):
    state, training = before
    now = m.get_state()
    assert set(now) == set(state)
    for key in state:
        assert now[key].tobytes() == state[key].tobytes(), key
    assert m.get_training_state() == training


BAD_PARAMS = {
    "batch_size": 0, "epochs": -1, "hidden_units": (8, 0), "dropout": 1.0,
    "embedding_l2": -0.1, "dense_l2": float("nan"), "activation": "gelu",
    "objective": "poisson", "n_classes": 3, "wide_mode": "stream", "shuffle": "yes",
    "dtype": np.int32, "embedding_init_std": 0.0, "deep_optimizer": "adam",
    "validation_fraction": 1.5, "n_iter_no_change": 0, "early_stopping": 3,
    "vocabularies": {"user": (0, 3), "item": (N_ITEMS, 3)}, "eval_metric": "rmse",
    "predict_batch_size": 0, "combiners": "max",
}


@pytest.mark.parametrize("name", sorted(BAD_PARAMS))
def test_a_bad_hyperparameter_is_named_and_changes_nothing(fitted, name):
    X, y = data(seed=1)
    before = snapshot(fitted)
    fitted.set_params(**{name: BAD_PARAMS[name]})
    with pytest.raises((ValueError, TypeError), match=name):
        fitted.fit(X, y)
    if name != "eval_metric":   # partial_fit does not evaluate
        with pytest.raises((ValueError, TypeError), match=name):
            fitted.partial_fit(X, y)
    assert_unchanged(fitted, before)


def bad_inputs():
    X, y = data(seed=1)
    bad_label = y.copy()
    bad_label[150] = 2
    bad_weight = np.ones(200)
    bad_weight[170] = -1
    out_of_range = dict(X, user=SparseInput.from_ids(np.full(200, N_USERS + 3)))
    Xe, ye = data(50, seed=2)
    ye = ye.copy()
    ye[3] = np.nan
    return {
        "no_labels": ((X,), {}, "y is required"),
        "bad_label": ((X, bad_label), {}, "row 150 has 2"),
        "bad_weight": ((X, y), {"sample_weight": bad_weight}, "row 170"),
        "missing_field": (({k: v for k, v in X.items() if k != "num"}, y), {}, "num"),
        "id_out_of_range": ((out_of_range, y), {}, "user"),
        "short_labels": ((X, y[:10]), {}, "shape"),
        "bad_eval_set": ((X, y), {"eval_set": (Xe, ye)}, "eval set .eval.: .*row 3 has nan"),
    }


@pytest.mark.parametrize("case", sorted(bad_inputs()))
def test_bad_in_memory_input_changes_nothing(fitted, case):
    args, kwargs, message = bad_inputs()[case]
    before = snapshot(fitted)
    with pytest.raises((ValueError, TypeError), match=message):
        fitted.fit(*args, **kwargs)
    assert_unchanged(fitted, before)


def test_bad_input_with_warm_start_changes_nothing(fitted):
    args, kwargs, message = bad_inputs()["bad_label"]
    fitted.set_params(warm_start=True)
    before = snapshot(fitted)
    with pytest.raises(ValueError, match=message):
        fitted.fit(*args, **kwargs)
    assert_unchanged(fitted, before)


def stream(bad_batch=None):
    X, y = data(seed=3)
    batches = []
    for start in range(0, 200, 50):
        rows = np.arange(start, start + 50)
        Xb = {k: (v.take(rows) if isinstance(v, SparseInput) else v[rows]) for k, v in X.items()}
        yb = y[rows].copy()
        if start // 50 == bad_batch:
            yb[7] = 5.0
        batches.append((Xb, yb))
    return batches


def test_a_bad_streamed_batch_names_its_global_row_and_keeps_the_good_batches():
    bad = model(epochs=1)
    with pytest.raises(ValueError, match=r"batch 3 of the stream \(rows 100 \.\. 149.*row 107 has 5"):
        bad.fit(stream(bad_batch=2))
    # exactly as after the two good batches, counters and dropout generator included
    good = model(epochs=1)
    for features, y in stream()[:2]:
        good.partial_fit(features, y)
    for key, value in good.get_state().items():
        assert bad.get_state()[key].tobytes() == value.tobytes(), key
    assert bad.steps_trained_ == 2 and bad.epochs_trained_ == 0 and bad.history_ == []
    assert bad.get_training_state()["dropout_rng"] == good.get_training_state()["dropout_rng"]
    # training can continue from there
    for features, y in stream()[2:]:
        bad.partial_fit(features, y)
        good.partial_fit(features, y)
    for key, value in good.get_state().items():
        assert bad.get_state()[key].tobytes() == value.tobytes(), key


def test_an_overflowing_step_raises_before_writing_anything():
    X, y = data()
    m = model(objective="regression", epochs=1).fit(X, y)
    before = snapshot(m)
    huge = np.full(200, 3e38)     # squared gradients overflow float32 accumulators
    with pytest.raises(NonFiniteUpdateError, match="non-finite"):
        m.partial_fit(X, huge)
    assert_unchanged(m, before)

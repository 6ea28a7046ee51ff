"""Adagrad: hand-computed steps, TensorFlow's published values, the row-sparse path against
the dense one, and input validation."""
import doctest
import json

import numpy as np
import pytest

import widedeep.optim.adagrad as adagrad_module
from widedeep import defaults
from widedeep.optim import Adagrad


def test_one_step_by_hand():
    # accumulator 0 + g**2 = [9, 16]; sqrt = [3, 4] = |g|, so each coordinate moves by lr
    # against its gradient's sign (up to eps = 1e-7 in the denominator).
    opt = Adagrad(lr=0.5, initial_accumulator_value=0.0, eps=1e-7)
    param = np.array([1.0, 2.0])
    state = opt.init_state(param)
    opt.update(param, np.array([3.0, -4.0]), state)
    np.testing.assert_array_equal(state["accumulator"], [9.0, 16.0])
    np.testing.assert_allclose(param, [1.0 - 0.5 * 3 / (3 + 1e-7), 2.0 + 0.5 * 4 / (4 + 1e-7)],
                               rtol=1e-15)
    np.testing.assert_allclose(param, [0.5, 2.5], atol=1e-7)


def test_matches_tensorflow_published_values():
    # tensorflow/python/training/adagrad_test.py, testBasic: lr=3, initial accumulator 0.1,
    # no epsilon (eps=0 here), 3 steps of constant gradients.
    opt = Adagrad(lr=3.0, initial_accumulator_value=0.1, eps=0.0)
    var0, var1 = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    state0, state1 = opt.init_state(var0), opt.init_state(var1)
    for _ in range(3):
        opt.update(var0, np.array([0.1, 0.1]), state0)
        opt.update(var1, np.array([0.01, 0.01]), state1)
    np.testing.assert_allclose(var0, [-1.6026098728179932, -0.6026098728179932], rtol=1e-6)
    np.testing.assert_allclose(var1, [2.715679168701172, 3.715679168701172], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    opt = Adagrad(initial_accumulator_value=0.1)
    param = np.ones((3, 2), dtype=dtype)
    state = opt.init_state(param)
    assert state["accumulator"].dtype == dtype
    opt.update(param, np.full((3, 2), 0.5), state)
    opt.update_rows(param, np.array([1]), np.full((1, 2), 0.5), state)
    assert param.dtype == dtype and state["accumulator"].dtype == dtype
    np.testing.assert_allclose(state["accumulator"][1], 0.1 + 0.25 + 0.25, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_rows_equals_dense_update_restricted_to_rows(dtype):
    rng = np.random.default_rng(0)
    opt = Adagrad(lr=0.1, initial_accumulator_value=0.1)
    table = rng.normal(size=(50, 4)).astype(dtype)
    sparse_table, dense_table = table.copy(), table.copy()
    sparse_state, dense_state = opt.init_state(table), opt.init_state(table)
    rows = np.array([7, 3, 42, 0])
    grad_rows = rng.normal(size=(4, 4)).astype(dtype)
    dense_grad = np.zeros_like(table)
    dense_grad[rows] = grad_rows
    opt.update_rows(sparse_table, rows, grad_rows, sparse_state)
    opt.update(dense_table, dense_grad, dense_state)
    # touched rows: the dense arithmetic, bit for bit
    assert sparse_table[rows].tobytes() == dense_table[rows].tobytes()
    assert (sparse_state["accumulator"][rows].tobytes()
            == dense_state["accumulator"][rows].tobytes())
    # untouched rows and their accumulators: the original bytes
    untouched = np.setdiff1d(np.arange(50), rows)
    assert sparse_table[untouched].tobytes() == table[untouched].tobytes()
    assert np.all(sparse_state["accumulator"][untouched] == dtype(0.1))
    assert np.all(sparse_table[rows] != table[rows])


def test_duplicate_rows_are_summed():
    rng = np.random.default_rng(1)
    opt = Adagrad(lr=0.2, initial_accumulator_value=0.1)
    table = rng.normal(size=(6, 3))
    a, b = table.copy(), table.copy()
    state_a, state_b = opt.init_state(a), opt.init_state(b)
    g = rng.normal(size=(4, 3))
    opt.update_rows(a, np.array([4, 1, 4, 4]), g, state_a)
    opt.update_rows(b, np.array([1, 4]), np.stack([g[1], g[0] + g[2] + g[3]]), state_b)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_allclose(state_a["accumulator"], state_b["accumulator"], rtol=1e-14)
    # one step with the summed gradient, not three steps
    np.testing.assert_allclose(state_a["accumulator"][4], 0.1 + (g[0] + g[2] + g[3]) ** 2,
                               rtol=1e-14)


def test_update_rows_on_a_1d_param():
    opt = Adagrad(lr=1.0, initial_accumulator_value=0.0, eps=1e-7)
    param = np.zeros(5)
    state = opt.init_state(param)
    opt.update_rows(param, np.array([3, 3]), np.array([1.0, 1.0]), state)
    # g = 2, accumulator 4, step = 1 * 2 / (2 + eps)
    np.testing.assert_allclose(param, [0, 0, 0, -2 / (2 + 1e-7), 0], rtol=1e-15)
    assert state["accumulator"].tolist() == [0, 0, 0, 4.0, 0]


def test_update_rows_with_no_rows_changes_nothing():
    opt = Adagrad(initial_accumulator_value=0.1)
    param = np.ones((3, 2))
    state = opt.init_state(param)
    opt.update_rows(param, np.array([], dtype=np.int64), np.zeros((0, 2)), state)
    opt.update_rows(param, [], np.zeros((0, 2)), state)
    assert np.all(param == 1.0) and np.all(state["accumulator"] == 0.1)


@pytest.mark.parametrize("rows,grad_rows,message", [
    ([0, 1], np.ones((3, 2)), "shape"),
    ([0, 1], np.ones((2, 3)), "shape"),
    ([0, -1], np.ones((2, 2)), "outside"),
    ([0, 5], np.ones((2, 2)), "outside"),
    ([0.0, 1.0], np.ones((2, 2)), "integers"),
    ([0, 1], np.array([[1.0, np.nan], [0.0, 0.0]]), "non-finite"),
    ([[0, 1]], np.ones((2, 2)), "1-d"),
])
def test_bad_rows_raise_and_leave_state_unchanged(rows, grad_rows, message):
    opt = Adagrad(initial_accumulator_value=0.1)
    param = np.arange(10, dtype=np.float64).reshape(5, 2)
    state = opt.init_state(param)
    with pytest.raises(ValueError, match=message):
        opt.update_rows(param, np.array(rows), grad_rows, state)
    np.testing.assert_array_equal(param, np.arange(10).reshape(5, 2))
    assert np.all(state["accumulator"] == 0.1)


def test_bad_dense_gradient_raises_and_leaves_state_unchanged():
    opt = Adagrad(initial_accumulator_value=0.1)
    param = np.ones(3)
    state = opt.init_state(param)
    with pytest.raises(ValueError, match="same shape"):
        opt.update(param, np.ones(4), state)
    with pytest.raises(ValueError, match="non-finite gradient at .* position 2"):
        opt.update(param, np.array([0.0, 1.0, np.inf]), state)
    assert np.all(param == 1.0) and np.all(state["accumulator"] == 0.1)


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(lr=-0.1), dict(eps=-1e-7),
                                    dict(initial_accumulator_value=-0.1),
                                    dict(initial_accumulator_value=0.0, eps=0.0)])
def test_bad_hyperparameters_raise(kwargs):
    with pytest.raises(ValueError, match="Adagrad"):
        Adagrad(**kwargs)


def test_class_defaults_are_the_shared_defaults():
    assert Adagrad().get_config() == {"lr": defaults.ADAGRAD_LR,
                                      "initial_accumulator_value":
                                          defaults.ADAGRAD_INITIAL_ACCUMULATOR,
                                      "eps": defaults.ADAGRAD_EPS}


def test_passing_only_lr_keeps_the_shared_accumulator_not_tensorflows():
    # the trap of issue 8: Adagrad(lr=0.1) used to start at TF's accumulator 0.1
    assert Adagrad(lr=0.1).initial_accumulator_value == defaults.ADAGRAD_INITIAL_ACCUMULATOR


def test_from_tensorflow_uses_tensorflows_defaults():
    # tf.keras.optimizers.Adagrad(learning_rate=0.001, initial_accumulator_value=0.1,
    # epsilon=1e-07)
    assert Adagrad.from_tensorflow().get_config() == {
        "lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7}
    assert Adagrad.from_tensorflow(3.0, epsilon=0.0).get_config() == {
        "lr": 3.0, "initial_accumulator_value": 0.1, "eps": 0.0}


def test_get_config_is_json_and_round_trips():
    opt = Adagrad(lr=0.05, initial_accumulator_value=0.2, eps=1e-6)
    config = json.loads(json.dumps(opt.get_config()))
    assert config == {"lr": 0.05, "initial_accumulator_value": 0.2, "eps": 1e-6}
    assert Adagrad(**config).get_config() == config


def test_docstring_examples_run():
    result = doctest.testmod(adagrad_module)
    assert result.attempted > 0 and result.failed == 0

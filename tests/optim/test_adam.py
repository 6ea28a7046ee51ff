"""Adam: hand-computed steps, lazy row-sparse semantics, dense/sparse agreement, PyTorch's
SparseAdam as an independent reference (when torch is installed), validation."""
import json

import numpy as np
import pytest

from widedeep import defaults
from widedeep.optim import Adam


def test_two_steps_by_hand():
    # lr 0.01, beta1 0.9, beta2 0.999, eps 1e-7; one coordinate, gradients 2 then -1.
    opt = Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7)
    param = np.array([0.5])
    state = opt.init_state(param)
    opt.update(param, np.array([2.0]), state)
    # t=1: m = 0.2, v = 0.004, step = 0.01 * sqrt(0.001) / 0.1 * 0.2 / (sqrt(0.004) + eps)
    m1, v1 = 0.1 * 2.0, 0.001 * 4.0
    p1 = 0.5 - 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9) * m1 / (np.sqrt(v1) + 1e-7)
    np.testing.assert_allclose(param, [p1], rtol=1e-15)
    opt.update(param, np.array([-1.0]), state)
    # t=2: m = 0.9 * 0.2 - 0.1 = 0.08, v = 0.999 * 0.004 + 0.001 = 0.004996
    m2, v2 = 0.9 * m1 + 0.1 * -1.0, 0.999 * v1 + 0.001 * 1.0
    p2 = p1 - 0.01 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * m2 / (np.sqrt(v2) + 1e-7)
    np.testing.assert_allclose(state["m"], [0.08], rtol=1e-15)
    np.testing.assert_allclose(state["v"], [0.004996], rtol=1e-13)
    np.testing.assert_allclose(param, [p2], rtol=1e-15)
    assert int(state["step"][0]) == 2


def test_lazy_rows_leave_untouched_rows_and_their_moments_alone():
    rng = np.random.default_rng(0)
    opt = Adam(lr=0.05)
    table = rng.normal(size=(6, 3))
    original = table.copy()
    state = opt.init_state(table)
    opt.update_rows(table, np.array([1, 4]), rng.normal(size=(2, 3)), state)
    opt.update_rows(table, np.array([4]), rng.normal(size=(1, 3)), state)
    untouched = [0, 2, 3, 5]
    assert table[untouched].tobytes() == original[untouched].tobytes()
    assert not state["m"][untouched].any() and not state["v"][untouched].any()
    # row 1 was not in the second batch: the momentum did not move it again (lazy)
    row1_after_first = original[1] - opt.lr * np.sqrt(1 - opt.beta2) / (1 - opt.beta1) \
        * state["m"][1] / (np.sqrt(state["v"][1]) + opt.eps)
    np.testing.assert_allclose(table[1], row1_after_first, rtol=1e-14)
    assert int(state["step"][0]) == 2


def test_dense_step_with_zero_gradient_moves_rows_by_momentum_but_lazy_does_not():
    opt = Adam(lr=0.1)
    dense, lazy = np.zeros((2, 1)), np.zeros((2, 1))
    dense_state, lazy_state = opt.init_state(dense), opt.init_state(lazy)
    for param, state in ((dense, dense_state), (lazy, lazy_state)):
        opt.update(param, np.array([[1.0], [1.0]]), state)
    opt.update(dense, np.array([[1.0], [0.0]]), dense_state)
    opt.update_rows(lazy, np.array([0]), np.array([[1.0]]), lazy_state)
    assert dense[0, 0] == lazy[0, 0]            # the touched row: same arithmetic
    # the untouched row kept its first-step value -0.1 * sqrt(0.001) / (sqrt(0.001) + eps)
    np.testing.assert_allclose(lazy[1], [-0.1 * np.sqrt(0.001) / (np.sqrt(0.001) + 1e-7)],
                               rtol=1e-14)
    assert dense[1, 0] < lazy[1, 0] - 0.05     # dense: momentum moved it again


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_update_of_every_row_equals_dense_update(dtype):
    rng = np.random.default_rng(1)
    opt = Adam(lr=0.01)
    table = rng.normal(size=(20, 4)).astype(dtype)
    sparse, dense = table.copy(), table.copy()
    sparse_state, dense_state = opt.init_state(sparse), opt.init_state(dense)
    for _ in range(4):
        grad = rng.normal(size=(20, 4)).astype(dtype)
        order = rng.permutation(20)
        opt.update(dense, grad, dense_state)
        opt.update_rows(sparse, order, grad[order], sparse_state)
    assert sparse.dtype == dtype
    assert sparse.tobytes() == dense.tobytes()
    for key in ("m", "v", "step"):
        assert sparse_state[key].tobytes() == dense_state[key].tobytes(), key


def test_duplicate_rows_are_summed_into_one_step():
    rng = np.random.default_rng(2)
    opt = Adam(lr=0.02)
    a = rng.normal(size=(5, 2))
    b = a.copy()
    state_a, state_b = opt.init_state(a), opt.init_state(b)
    g = rng.normal(size=(3, 2))
    opt.update_rows(a, np.array([3, 0, 3]), g, state_a)
    opt.update_rows(b, np.array([0, 3]), np.stack([g[1], g[0] + g[2]]), state_b)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    assert int(state_a["step"][0]) == 1


def test_matches_pytorch_sparse_adam():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    table = rng.normal(size=(10, 3))
    opt = Adam(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-8)
    state = opt.init_state(table)
    weight = torch.nn.Parameter(torch.tensor(table.copy()))
    reference = torch.optim.SparseAdam([weight], lr=0.05, betas=(0.8, 0.99), eps=1e-8)
    for _ in range(5):
        rows = rng.choice(10, size=4, replace=False)
        grads = rng.normal(size=(4, 3))
        opt.update_rows(table, rows, grads, state)
        weight.grad = torch.sparse_coo_tensor(torch.tensor(rows[None, :]),
                                              torch.tensor(grads), (10, 3),
                                              check_invariants=True)
        reference.step()
    np.testing.assert_allclose(table, weight.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_bad_rows_raise_and_change_nothing():
    opt = Adam()
    table = np.ones((4, 2))
    state = opt.init_state(table)
    for rows, grads in (([0, 4], np.ones((2, 2))), ([0, 1], np.array([[np.nan, 0], [0, 0]])),
                        ([0, 1], np.ones((3, 2)))):
        with pytest.raises(ValueError, match="Adam|outside|non-finite|shape"):
            opt.update_rows(table, np.array(rows), grads, state)
    assert np.all(table == 1) and int(state["step"][0]) == 0 and not state["m"].any()


def test_empty_rows_change_nothing_not_even_the_step():
    opt = Adam()
    table = np.ones((3, 2))
    state = opt.init_state(table)
    opt.update_rows(table, np.array([], dtype=np.int64), np.zeros((0, 2)), state)
    assert np.all(table == 1) and int(state["step"][0]) == 0


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(beta1=1.0), dict(beta2=-0.1),
                                    dict(eps=0.0), dict(lr=np.nan)])
def test_bad_hyperparameters_raise_naming_them(kwargs):
    with pytest.raises(ValueError, match=f"Adam: {next(iter(kwargs))}"):
        Adam(**kwargs)


def test_defaults_and_tensorflow_defaults():
    assert Adam().get_config() == {"lr": defaults.ADAM_LR, "beta1": defaults.ADAM_BETA1,
                                   "beta2": defaults.ADAM_BETA2, "eps": defaults.ADAM_EPS}
    assert Adam.from_tensorflow().get_config() == {"lr": 0.001, "beta1": 0.9,
                                                   "beta2": 0.999, "eps": 1e-7}


def test_config_is_json_and_round_trips():
    opt = Adam(lr=0.3, beta1=0.5, beta2=0.9, eps=1e-6)
    config = json.loads(json.dumps(opt.get_config()))
    assert Adam.from_config(config).get_config() == opt.get_config()

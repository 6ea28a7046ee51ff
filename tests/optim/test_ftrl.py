"""FtrlProximal: TensorFlow's published test vectors, an independent per-coordinate
reference loop, exact L1 zeros, untouched coordinates, and input validation."""
import doctest
import json
import math

import numpy as np
import pytest

import widedeep.optim.ftrl as ftrl_module
from widedeep import defaults
from widedeep.optim import FtrlProximal


def reference_ftrl(weights, z, n, coords, grads, alpha, beta, l1, l2):
    """Algorithm 1 of McMahan et al. (2013), one coordinate at a time, in plain Python.

    Duplicate coordinates are summed first: the batch gradient of a coordinate is the sum
    of the gradients of its occurrences.
    """
    weights, z, n = list(weights), list(z), list(n)
    summed = {}
    for i, g in zip(coords, grads):
        summed[int(i)] = summed.get(int(i), 0.0) + float(g)
    for i, g in summed.items():
        sigma = (math.sqrt(n[i] + g * g) - math.sqrt(n[i])) / alpha
        z[i] += g - sigma * weights[i]
        n[i] += g * g
        if abs(z[i]) <= l1:
            weights[i] = 0.0
        else:
            sign = 1.0 if z[i] > 0 else -1.0
            weights[i] = -(z[i] - sign * l1) / ((beta + math.sqrt(n[i])) / alpha + l2)
    return np.array(weights), np.array(z), np.array(n)


# Two variables of TensorFlow's tests, trained side by side with constant gradients
# grads0 = [0.1, 0.2], grads1 = [0.01, 0.02]. Expected values are those published in
# tensorflow/python/keras/optimizer_v2/ftrl_test.py (computed by TensorFlow in float32).
TF_CASES = {
    # name: (tf kwargs, steps, var0 init, var1 init, expected var0, expected var1)
    "testFtrlwithoutRegularization": (
        dict(l1_regularization_strength=0.0, l2_regularization_strength=0.0), 3,
        [0.0, 0.0], [0.0, 0.0], [-2.60260963, -4.29698515], [-0.28432083, -0.56694895]),
    "testFtrlwithoutRegularization2": (
        dict(l1_regularization_strength=0.0, l2_regularization_strength=0.0), 3,
        [1.0, 2.0], [4.0, 3.0], [-2.55607247, -3.98729396], [-0.28232238, -0.56096673]),
    "testFtrlWithL1": (
        dict(l1_regularization_strength=0.001, l2_regularization_strength=0.0), 10,
        [1.0, 2.0], [4.0, 3.0], [-7.66718769, -10.91273689], [-0.93460727, -1.86147261]),
    "testFtrlWithBeta": (
        dict(beta=0.1), 10,
        [1.0, 2.0], [4.0, 3.0], [-6.096838, -9.162214], [-0.717741, -1.425132]),
    "testFtrlWithL2_Beta": (
        dict(l1_regularization_strength=0.0, l2_regularization_strength=0.1, beta=0.1), 10,
        [1.0, 2.0], [4.0, 3.0], [-2.735487, -4.704625], [-0.294335, -0.586556]),
    "testFtrlWithL1_L2": (
        dict(l1_regularization_strength=0.001, l2_regularization_strength=2.0), 10,
        [1.0, 2.0], [4.0, 3.0], [-0.24059935, -0.46829352], [-0.02406147, -0.04830509]),
}


def run_tf_case(name, dtype, sparse):
    tf_kwargs, steps, init0, init1, _, _ = TF_CASES[name]
    opt = FtrlProximal.from_tensorflow(3.0, initial_accumulator_value=0.1, **tf_kwargs)
    results = []
    for init, grad in ((init0, [0.1, 0.2]), (init1, [0.01, 0.02])):
        # TensorFlow starts from the variable's initial value with linear (z) = 0
        weights = np.array(init, dtype=dtype)
        state = opt.init_state(2, dtype=dtype)
        grad = np.array(grad, dtype=dtype)
        for _ in range(steps):
            if sparse:
                opt.update_rows(weights, np.array([0, 1]), grad, state)
            else:
                opt.update(weights, grad, state)
        results.append(weights)
    return results


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("name", sorted(TF_CASES))
def test_matches_tensorflow_published_values_float64(name, sparse):
    var0, var1 = run_tf_case(name, np.float64, sparse)
    expected0, expected1 = TF_CASES[name][4:]
    # rtol 1e-6; atol for the values TensorFlow published with only 6 decimals
    np.testing.assert_allclose(var0, expected0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(var1, expected1, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(TF_CASES))
def test_matches_tensorflow_published_values_float32(name):
    var0, var1 = run_tf_case(name, np.float32, sparse=True)
    assert var0.dtype == np.float32 and var1.dtype == np.float32
    expected0, expected1 = TF_CASES[name][4:]
    np.testing.assert_allclose(var0, expected0, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(var1, expected1, rtol=2e-5, atol=2e-6)


def test_from_tensorflow_maps_parameters():
    opt = FtrlProximal.from_tensorflow(0.3, initial_accumulator_value=0.2,
                                       l1_regularization_strength=0.01,
                                       l2_regularization_strength=0.5, beta=0.7)
    assert opt.get_config() == {"alpha": 0.3, "beta": 0.7, "l1": 0.01, "l2": 1.0,
                                "initial_accumulator_value": 0.2}


def test_one_step_by_hand():
    # alpha=2, beta=1, l1=0.5, l2=1, n0=0; g=3 on a zero weight:
    # sigma = 3/2, z = 3, n = 9, w = -(3 - 0.5) / ((1 + 3)/2 + 1) = -2.5/3
    opt = FtrlProximal(alpha=2.0, beta=1.0, l1=0.5, l2=1.0)
    state = opt.init_state(1, dtype=np.float64)
    weights = np.zeros(1)
    opt.update_rows(weights, np.array([0]), np.array([3.0]), state)
    assert state["z"][0] == 3.0 and state["n"][0] == 9.0
    assert weights[0] == pytest.approx(-2.5 / 3.0, rel=1e-15)


@pytest.mark.parametrize("l1,l2,beta,n0", [(0.0, 0.0, 1.0, 0.0), (0.05, 0.3, 0.5, 0.1),
                                           (0.5, 2.0, 0.0, 0.2)])
def test_matches_reference_loop_on_random_sparse_batches(l1, l2, beta, n0):
    rng = np.random.default_rng(1234)
    size, alpha = 30, 0.2
    opt = FtrlProximal(alpha=alpha, beta=beta, l1=l1, l2=l2, initial_accumulator_value=n0)
    state = opt.init_state(size, dtype=np.float64)
    weights = np.zeros(size)
    ref_w, ref_z, ref_n = np.zeros(size), np.zeros(size), np.full(size, n0)
    saw_duplicates = False
    for _ in range(40):
        k = int(rng.integers(1, 25))
        coords = rng.integers(0, size, size=k)     # repeats are likely with k ~ size
        saw_duplicates |= np.unique(coords).size < k
        grads = rng.normal(size=k)
        opt.update_rows(weights, coords, grads, state)
        ref_w, ref_z, ref_n = reference_ftrl(ref_w, ref_z, ref_n, coords, grads,
                                             alpha, beta, l1, l2)
        np.testing.assert_allclose(weights, ref_w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(state["z"], ref_z, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(state["n"], ref_n, rtol=1e-12, atol=1e-14)
    assert saw_duplicates


def test_duplicates_are_summed_before_the_update():
    opt = FtrlProximal(alpha=0.5, beta=1.0, l1=0.01)
    state_dup, state_sum = opt.init_state(4, np.float64), opt.init_state(4, np.float64)
    w_dup, w_sum = np.zeros(4), np.zeros(4)
    opt.update_rows(w_dup, np.array([2, 0, 2, 2]), np.array([0.5, 1.0, 0.25, -0.125]), state_dup)
    opt.update_rows(w_sum, np.array([0, 2]), np.array([1.0, 0.625]), state_sum)
    np.testing.assert_array_equal(w_dup, w_sum)
    np.testing.assert_array_equal(state_dup["z"], state_sum["z"])
    np.testing.assert_array_equal(state_dup["n"], state_sum["n"])
    # not two sequential steps of 0.5 then 0.25 ...: n is the square of the sum
    assert state_dup["n"][2] == 0.625 ** 2


def test_weights_are_exactly_zero_where_abs_z_at_most_l1():
    rng = np.random.default_rng(7)
    opt = FtrlProximal(alpha=0.1, beta=1.0, l1=1.0, l2=0.1)
    state = opt.init_state(500)
    weights = np.zeros(500, dtype=np.float32)
    for _ in range(20):
        coords = rng.integers(0, 500, size=100)
        opt.update_rows(weights, coords, rng.normal(scale=0.5, size=100).astype(np.float32), state)
    inactive = np.abs(state["z"]) <= opt.l1
    assert 0 < inactive.sum() < 500          # both regimes occur
    assert np.all(weights[inactive] == 0.0)
    assert np.all(weights[~inactive] != 0.0)
    assert np.all(np.sign(weights[~inactive]) == -np.sign(state["z"][~inactive]))


def test_weights_closed_form_values():
    opt = FtrlProximal(alpha=2.0, beta=1.0, l1=0.5, l2=1.0)
    z = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    n = np.array([9.0, 9.0, 0.0, 1.0, 9.0])
    # denominators (1 + 3)/2 + 1 = 3 for n = 9
    np.testing.assert_allclose(opt.weights(z, n), [2.5 / 3, 0.0, 0.0, 0.0, -2.5 / 3],
                               rtol=1e-15)


def test_zero_denominator_does_not_warn_for_inactive_coordinates():
    opt = FtrlProximal(alpha=1.0, beta=0.0, l1=0.0, l2=0.0, initial_accumulator_value=0.0)
    with np.errstate(all="raise"):
        w = opt.weights(np.zeros(3), np.zeros(3))
    assert np.all(w == 0.0)


def test_update_touches_only_the_given_coordinates():
    rng = np.random.default_rng(3)
    opt = FtrlProximal(alpha=0.1, beta=1.0, l1=0.001, l2=0.01, initial_accumulator_value=0.1)
    state = opt.init_state(100)
    weights = np.zeros(100, dtype=np.float32)
    opt.update(weights, rng.normal(size=100).astype(np.float32), state)
    before = {"w": weights.copy(), "z": state["z"].copy(), "n": state["n"].copy()}
    coords = np.array([5, 17, 17, 80])
    opt.update_rows(weights, coords, rng.normal(size=4).astype(np.float32), state)
    untouched = np.setdiff1d(np.arange(100), coords)
    for name, array in (("w", weights), ("z", state["z"]), ("n", state["n"])):
        assert array[untouched].tobytes() == before[name][untouched].tobytes(), name
        assert np.all(array[[5, 17, 80]] != before[name][[5, 17, 80]]), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_dense_equals_update_with_all_coordinates(dtype):
    rng = np.random.default_rng(11)
    opt = FtrlProximal(alpha=0.3, beta=0.5, l1=0.05, l2=0.2, initial_accumulator_value=0.05)
    state_a, state_b = opt.init_state(64, dtype), opt.init_state(64, dtype)
    w_a, w_b = np.zeros(64, dtype), np.zeros(64, dtype)
    for _ in range(5):
        grad = rng.normal(size=64).astype(dtype)
        opt.update(w_a, grad, state_a)
        opt.update_rows(w_b, np.arange(64), grad, state_b)
    assert w_a.dtype == dtype and state_a["z"].dtype == dtype
    assert w_a.tobytes() == w_b.tobytes()
    assert state_a["z"].tobytes() == state_b["z"].tobytes()
    assert state_a["n"].tobytes() == state_b["n"].tobytes()


def test_init_state_dtype_and_values():
    opt = FtrlProximal(initial_accumulator_value=0.25)
    state = opt.init_state(3)
    assert state["z"].dtype == np.float32 and state["n"].dtype == np.float32
    assert state["z"].tolist() == [0.0, 0.0, 0.0] and state["n"].tolist() == [0.25] * 3
    assert opt.init_state(2, dtype=np.float64)["n"].dtype == np.float64


@pytest.mark.parametrize("coords,grads,message", [
    ([0, 1], [0.1], "must have shape"),
    ([0, -1], [0.1, 0.2], "outside"),
    ([0, 10], [0.1, 0.2], "outside"),
    ([0.0, 1.0], [0.1, 0.2], "integers"),
    ([0, 1], [0.1, np.nan], "non-finite"),
    ([0, 1], [np.inf, 0.2], "non-finite"),
    ([[0, 1]], [[0.1, 0.2]], "1-d"),
])
def test_bad_sparse_input_raises_and_leaves_state_unchanged(coords, grads, message):
    opt = FtrlProximal(alpha=0.1, l1=0.01)
    state = opt.init_state(10)
    weights = np.zeros(10, dtype=np.float32)
    opt.update_rows(weights, np.array([0, 3]), np.array([0.5, -0.5], dtype=np.float32), state)
    before = (weights.copy(), state["z"].copy(), state["n"].copy())
    with pytest.raises(ValueError, match=message):
        opt.update_rows(weights, np.array(coords), np.array(grads), state)
    for array, old in zip((weights, state["z"], state["n"]), before):
        np.testing.assert_array_equal(array, old)


def test_bad_dense_input_raises_and_leaves_state_unchanged():
    opt = FtrlProximal()
    state = opt.init_state(3)
    weights = np.zeros(3, dtype=np.float32)
    with pytest.raises(ValueError, match="same shape"):
        opt.update(weights, np.zeros(4), state)
    with pytest.raises(ValueError, match="non-finite"):
        opt.update(weights, np.array([0.1, np.nan, 0.2]), state)
    assert not weights.any() and not state["z"].any() and not state["n"].any()


@pytest.mark.parametrize("kwargs", [dict(alpha=0.0), dict(alpha=-1.0), dict(beta=-0.1),
                                    dict(l1=-1.0), dict(l2=np.nan),
                                    dict(initial_accumulator_value=-0.1)])
def test_bad_hyperparameters_raise(kwargs):
    with pytest.raises(ValueError, match="FtrlProximal"):
        FtrlProximal(**kwargs)


def test_class_defaults_are_the_shared_defaults():
    assert FtrlProximal().get_config() == {
        "alpha": defaults.FTRL_ALPHA, "beta": defaults.FTRL_BETA, "l1": defaults.FTRL_L1,
        "l2": defaults.FTRL_L2, "initial_accumulator_value": defaults.FTRL_INITIAL_ACCUMULATOR}


def test_passing_only_alpha_keeps_the_shared_beta_l1_l2():
    # the trap of issue 8: FtrlProximal(alpha=...) used to fall back to beta 1, no L1/L2
    opt = FtrlProximal(alpha=0.3)
    assert (opt.beta, opt.l1, opt.l2) == (defaults.FTRL_BETA, defaults.FTRL_L1,
                                          defaults.FTRL_L2)


def test_from_tensorflow_uses_tensorflows_defaults():
    # tf.keras.optimizers.Ftrl(learning_rate=0.001, initial_accumulator_value=0.1, l1=0,
    # l2=0, beta=0)
    assert FtrlProximal.from_tensorflow().get_config() == {
        "alpha": 0.001, "beta": 0.0, "l1": 0.0, "l2": 0.0, "initial_accumulator_value": 0.1}


def test_get_config_is_json_and_round_trips():
    opt = FtrlProximal(alpha=0.2, beta=0.5, l1=0.1, l2=0.3, initial_accumulator_value=0.05)
    config = json.loads(json.dumps(opt.get_config()))
    assert FtrlProximal(**config).get_config() == opt.get_config()


def test_docstring_examples_run():
    result = doctest.testmod(ftrl_module)
    assert result.attempted > 0 and result.failed == 0

import numpy as np
import pytest

from widedeep import FtrlProximal, SparseInput
from widedeep.gradcheck import check_gradients
from widedeep.layers import WideLayer
from widedeep.losses import binary_logloss, sigmoid


def wide_batch():
    return {
        "country": SparseInput.from_ids(np.array([0, 2, 2, 1]), dtype=np.float64),
        "cross": SparseInput.from_lists([[3, 3], [], [7], [1, 0]],
                                        weights=[[1.0, 0.5], [], [2.0], [1.0, 1.0]],
                                        dtype=np.float64),
    }


def test_wide_logit_is_bias_plus_weighted_sum():
    layer = WideLayer({"country": 3, "cross": 8}, FtrlProximal(), dtype=np.float64)
    layer.params["country"][:] = [0.1, 0.2, 0.3]
    layer.params["cross"][:] = np.arange(8) / 10
    layer.params["bias"][:] = -1.0
    logits, _ = layer.forward(wide_batch())
    np.testing.assert_allclose(logits, [-1 + 0.1 + 0.3 * 1.5, -1 + 0.3,
                                        -1 + 0.3 + 1.4, -1 + 0.2 + 0.1])


def test_wide_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    layer = WideLayer({"country": 3, "cross": 8}, FtrlProximal(), dtype=np.float64)
    for name in layer.params:
        layer.params[name][:] = rng.standard_normal(layer.params[name].shape)
    features, y = wide_batch(), np.array([1.0, 0.0, 1.0, 0.0])

    def loss():
        return binary_logloss(layer.forward(features)[0], y)

    logits, cache = layer.forward(features)
    _, grads = layer.backward((sigmoid(logits) - y) / 4, cache)
    check_gradients(loss, layer.params, grads).assert_passed()


def test_batch_mode_is_one_ftrl_step_on_the_mean_gradient():
    ftrl = FtrlProximal(alpha=0.5, beta=1.0, l1=0.01, l2=0.1)
    layer = WideLayer({"country": 3, "cross": 8}, ftrl, dtype=np.float64)
    features, y = wide_batch(), np.array([1.0, 0.0, 1.0, 0.0])
    layer.fit_batch(features, y)
    # reference: the mean gradient at w = 0 (p = 0.5), coordinates aggregated by hand
    g = (0.5 - y) / 4
    reference = FtrlProximal(alpha=0.5, beta=1.0, l1=0.01, l2=0.1)
    w = np.zeros(8)
    state = reference.init_state(8, np.float64)
    reference.update(w, np.bincount([3, 3, 7, 1, 0], minlength=8,
                                    weights=[g[0], 0.5 * g[0], 2 * g[2], g[3], g[3]]), state)
    np.testing.assert_allclose(layer.params["cross"], w)


def test_online_mode_equals_examples_one_by_one():
    ftrl = FtrlProximal(alpha=0.3, beta=1.0, l1=0.001, l2=0.01)
    features, y = wide_batch(), np.array([1.0, 0.0, 1.0, 0.0])
    online = WideLayer({"country": 3, "cross": 8}, ftrl, dtype=np.float64)
    online.fit_batch(features, y, mode="online")
    one_by_one = WideLayer({"country": 3, "cross": 8}, ftrl, dtype=np.float64)
    for i in range(4):
        single = {k: v.slice(i, i + 1) for k, v in features.items()}
        one_by_one.fit_batch(single, y[i:i + 1], mode="batch")
    for name in online.params:
        np.testing.assert_allclose(online.params[name], one_by_one.params[name], rtol=1e-12)


def test_l1_gives_exact_zeros():
    rng = np.random.default_rng(1)
    n = 2000
    ids = rng.integers(0, 50, n)
    # ids < 5 always positive; the others are coin flips the bias explains
    y = np.where(ids < 5, 1.0, (rng.random(n) < 0.5).astype(float))
    layer = WideLayer({"f": 50}, FtrlProximal(alpha=0.1, l1=20.0), dtype=np.float64)
    x = {"f": SparseInput.from_ids(ids, dtype=np.float64)}
    for _ in range(5):
        layer.fit_batch(x, y, mode="online")
    w = layer.params["f"]
    z = layer.ftrl_state["f"]["z"]
    assert np.all(w[np.abs(z) <= 20.0] == 0.0)
    assert np.all(w[:5] > 0)                  # the informative ids survive L1
    assert np.count_nonzero(w) < 25           # most coin-flip ids are exactly zero
    assert layer.nonzero_counts()["f"] == np.count_nonzero(w)


def test_proba_fn_receives_example_indices_and_wide_logits():
    layer = WideLayer({"country": 3, "cross": 8}, FtrlProximal(), dtype=np.float64)
    offset = np.array([10.0, -10.0, 0.0, 0.0])
    seen = []

    def proba_fn(example_indices, wide_logits):
        seen.append(example_indices.copy())
        return sigmoid(wide_logits + offset[example_indices])

    p = layer.fit_batch(wide_batch(), np.array([1.0, 0.0, 1.0, 0.0]), proba_fn)
    assert seen[0].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(p, sigmoid(offset))


def test_missing_field_and_bad_ids_are_named():
    layer = WideLayer({"country": 3}, FtrlProximal())
    with pytest.raises(ValueError, match="missing wide field 'country'"):
        layer.check_input({})
    with pytest.raises(ValueError, match="'country'.*out of range for a vocabulary of size 3"):
        layer.check_input({"country": SparseInput.from_ids(np.array([4]))})


def test_field_logits_is_one_fields_weighted_sum_by_hand():
    layer = WideLayer({"country": 3, "cross": 8}, FtrlProximal(), dtype=np.float64)
    layer.params["cross"][:] = np.arange(8) / 10
    layer.params["bias"][:] = -1.0
    # rows: [3, 3] weights [1, .5]; []; [7] weight 2; [1, 0]
    np.testing.assert_allclose(layer.field_logits("cross", wide_batch()["cross"]),
                               [0.3 * 1.5, 0.0, 1.4, 0.1])
    assert layer.bias == -1.0


def test_field_logits_with_out_adds_in_place():
    layer = WideLayer({"country": 3}, FtrlProximal(), dtype=np.float64)
    layer.params["country"][:] = [0.1, 0.2, 0.3]
    out = np.full(4, 10.0)
    returned = layer.field_logits("country", wide_batch()["country"], out=out)
    assert returned is out
    np.testing.assert_allclose(out, [10.1, 10.3, 10.3, 10.2])


def test_multiclass_wide_gradients_match_finite_differences():
    from widedeep.losses import SoftmaxCrossEntropy
    rng = np.random.default_rng(3)
    layer = WideLayer({"country": 3, "cross": 8}, FtrlProximal(), dtype=np.float64,
                      n_outputs=3)
    for name in layer.params:
        layer.params[name][:] = rng.standard_normal(layer.params[name].shape)
    features, y = wide_batch(), np.array([2.0, 0.0, 1.0, 2.0])
    loss = SoftmaxCrossEntropy(3)

    def value():
        return loss.value(layer.forward(features)[0], y)

    logits, cache = layer.forward(features)
    _, grads = layer.backward(loss.gradient(loss.link(logits), y), cache)
    check_gradients(value, layer.params, grads).assert_passed()


def test_multiclass_wide_layer_has_k_ftrl_models_per_coordinate():
    from widedeep.losses import SoftmaxCrossEntropy
    ftrl = FtrlProximal(alpha=0.5, beta=1.0, l1=0.01, l2=0.1)
    layer = WideLayer({"country": 3}, ftrl, dtype=np.float64, n_outputs=3)
    x = {"country": SparseInput.from_ids(np.array([1, 1]), dtype=np.float64)}
    layer.fit_batch(x, np.array([0.0, 2.0]), loss=SoftmaxCrossEntropy(3))
    # from zero weights p = 1/3 each: coordinate 1 of class k gets (2/3 - [k in y]) / 2
    g = np.array([(2 / 3 - 1) / 2, (2 / 3) / 2, (2 / 3 - 1) / 2])
    reference = FtrlProximal(alpha=0.5, beta=1.0, l1=0.01, l2=0.1)
    w, state = np.zeros(3), reference.init_state(np.zeros(3))
    reference.update(w, g, state)
    np.testing.assert_allclose(layer.params["country"][1], w)
    assert not layer.params["country"][[0, 2]].any()

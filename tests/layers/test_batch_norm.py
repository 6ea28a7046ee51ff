"""BatchNorm: finite-difference gradients (training and inference mode), the normalization
by formula, running statistics by formula, and a forward pass that writes nothing."""
import numpy as np
import pytest

from widedeep.gradcheck import check_layer
from widedeep.layers import BatchNorm


def make_layer(dim=4, seed=0):
    rng = np.random.default_rng(seed)
    layer = BatchNorm(dim, momentum=0.8, eps=1e-3, dtype=np.float64)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, dim)
    layer.params["beta"][...] = rng.normal(size=dim)
    layer.statistics["running_mean"][...] = rng.normal(size=dim)
    layer.statistics["running_var"][...] = rng.uniform(0.5, 2.0, dim)
    return layer


def test_training_gradients_match_finite_differences():
    x = np.random.default_rng(1).normal(0.5, 1.0, size=(7, 4))
    # rtol 1e-4: each column of the input gradient sums to 0 over the batch, so some entries
    # are ~1e-5 where central differences' absolute noise (~1e-10) is a 1e-5 relative error
    report = check_layer(make_layer(), x, training=True, rtol=1e-4)
    report.assert_passed()
    assert report.errors["gamma"] < 1e-7 and report.errors["beta"] < 1e-7
    assert set(report.errors) == {"gamma", "beta", "input"}


def test_inference_gradients_match_finite_differences():
    x = np.random.default_rng(2).normal(size=(5, 4))
    check_layer(make_layer(), x, training=False).assert_passed()


def test_training_output_is_normalized_batch_times_gamma_plus_beta():
    layer = make_layer()
    x = np.random.default_rng(3).normal(1.0, 2.0, size=(6, 4))
    out, _ = layer.forward(x, training=True)
    mean, var = x.mean(axis=0), x.var(axis=0)
    expected = (x - mean) / np.sqrt(var + 1e-3) * layer.params["gamma"] + layer.params["beta"]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_inference_uses_running_statistics_not_the_batch():
    layer = make_layer()
    x = np.random.default_rng(4).normal(size=(3, 4))
    stats = layer.statistics
    expected = ((x - stats["running_mean"]) / np.sqrt(stats["running_var"] + 1e-3)
                * layer.params["gamma"] + layer.params["beta"])
    np.testing.assert_allclose(layer.forward(x)[0], expected, rtol=1e-12)
    # one row alone scores the same as inside the batch (no batch statistics at inference)
    np.testing.assert_allclose(layer.forward(x[1:2])[0], expected[1:2], rtol=1e-12)


def test_forward_writes_nothing_and_update_statistics_follows_the_formula():
    layer = make_layer()
    before = {k: v.copy() for k, v in layer.statistics.items()}
    x = np.random.default_rng(5).normal(size=(5, 4))
    _, cache = layer.forward(x, training=True)
    layer.forward(x, training=False)
    for key, value in layer.statistics.items():
        np.testing.assert_array_equal(value, before[key])
    layer.update_statistics(*BatchNorm.batch_statistics(cache))
    np.testing.assert_allclose(layer.statistics["running_mean"],
                               0.8 * before["running_mean"] + 0.2 * x.mean(axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(layer.statistics["running_var"],
                               0.8 * before["running_var"] + 0.2 * x.var(axis=0, ddof=1),
                               rtol=1e-12)


def test_bad_settings_and_input_raise():
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(3, momentum=1.0)
    with pytest.raises(ValueError, match="eps"):
        BatchNorm(3, eps=0.0)
    with pytest.raises(ValueError, match=r"shape \[n, 3\]"):
        BatchNorm(3).forward(np.ones((2, 4)))

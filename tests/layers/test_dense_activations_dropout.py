import numpy as np
import pytest

from widedeep.gradcheck import check_layer
from widedeep.layers import DenseInputLayer, DenseLayer, Dropout, ReLU, Sigmoid, Tanh


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_gradients(l2, use_bias):
    rng = np.random.default_rng(0)
    layer = DenseLayer.create(5, 4, rng, use_bias=use_bias, l2=l2, dtype=np.float64)
    report = check_layer(layer, rng.standard_normal((6, 5)))
    report.assert_passed()
    assert set(report.errors) == ({"W", "b", "input"} if use_bias else {"W", "input"})


def test_dense_forward_is_affine():
    layer = DenseLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
    out, _ = layer.forward(np.array([[1.0, 1.0]]))
    np.testing.assert_array_equal(out, [[4.5, 5.5]])


@pytest.mark.parametrize("activation", [ReLU, Sigmoid, Tanh])
def test_activation_gradients(activation):
    x = np.random.default_rng(1).standard_normal((4, 7))
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU away from its kink
    check_layer(activation(), x).assert_passed()


def test_dropout_gradient_with_fixed_mask_and_identity_at_inference():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((50, 8))
    layer = Dropout(0.4)
    check_layer(layer, x, training=True, seed=7).assert_passed()
    out, _ = layer.forward(x, training=False)
    np.testing.assert_array_equal(out, x)
    out, mask = layer.forward(x, training=True, rng=np.random.default_rng(0))
    kept = mask != 0
    assert 0.5 < kept.mean() < 0.7
    np.testing.assert_allclose(out[kept], x[kept] / 0.6)


def test_dense_input_rejects_nan_naming_field_and_row():
    layer = DenseInputLayer({"age": 1, "income": 2})
    features = {"age": np.array([1.0, 2.0]), "income": np.array([[1.0, 2.0], [np.nan, 0.0]])}
    with pytest.raises(ValueError, match="'income'.*row 1"):
        layer.forward(features)
    with pytest.raises(ValueError, match=r"'income': expected shape \[n, 2\]"):
        layer.forward({"age": np.array([1.0]), "income": np.ones((1, 3))})


def test_inplace_relu_equals_relu_and_reuses_buffers():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6))
    g = rng.standard_normal((4, 6))
    expected_out, cache = ReLU().forward(x.copy())
    expected_grad, _ = ReLU().backward(g.copy(), cache)
    x_buffer, g_buffer = x.copy(), g.copy()
    out, cache = ReLU(inplace=True).forward(x_buffer)
    grad, _ = ReLU(inplace=True).backward(g_buffer, cache)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(grad, expected_grad)
    assert out is x_buffer and grad is g_buffer


def test_dense_product_of_column_ranges_adds_up_to_the_full_product():
    rng = np.random.default_rng(1)
    layer = DenseLayer.create(7, 3, rng, dtype=np.float64)
    x = rng.standard_normal((5, 7))
    shares = layer.product(x[:, :4], slice(0, 4)) + layer.product(x[:, 4:], slice(4, 7))
    np.testing.assert_allclose(shares, x @ layer.params["W"], rtol=1e-12)
    np.testing.assert_allclose(layer.add_bias(shares.copy()),
                               x @ layer.params["W"] + layer.params["b"], rtol=1e-12)


def test_dense_product_in_blocks_equals_one_product_and_pads_the_last_block():
    rng = np.random.default_rng(2)
    layer = DenseLayer.create(6, 4, rng, dtype=np.float64)
    x = rng.standard_normal((11, 6))
    np.testing.assert_allclose(layer.product(x, block_rows=4), x @ layer.params["W"],
                               rtol=1e-12)
    # a row's bits are those of a block of 4 whatever the total height
    np.testing.assert_array_equal(layer.product(x[8:9], block_rows=4)[0],
                                  layer.product(x[8:11], block_rows=4)[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_against_a_zero_row_gives_max_of_x_and_zero_for_every_value(dtype):
    from widedeep.layers.activations import relu_into
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 9)).astype(dtype)
    x[0, :5] = [np.nan, -0.0, 0.0, np.inf, -np.inf]
    out = relu_into(x, np.empty_like(x))
    # independent: element by element in Python (NaN stays NaN, zeros come out +0.0)
    for value, got in zip(x.ravel().tolist(), out.ravel().tolist()):
        if value != value:
            assert got != got
        else:
            assert got == (value if value > 0 else 0.0)
            assert not (got == 0.0 and np.signbit(got))


def test_relu_in_a_workspace_without_row_threads_writes_its_input_in_place():
    from widedeep.workspace import Workspace
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    expected = np.where(x > 0, x, np.float32(0))
    buffer = x.copy()
    out, cache = ReLU(inplace=True).forward(buffer, workspace=Workspace())
    assert out is buffer and cache is buffer
    np.testing.assert_array_equal(out, expected)


def test_zero_row_is_read_only_and_shared_per_width_and_dtype():
    from widedeep.layers.activations import zero_row
    row = zero_row(3, np.float32)
    assert row.shape == (3,) and row.dtype == np.float32 and not row.any()
    assert zero_row(3, np.float32) is row and zero_row(3, np.float64) is not row
    with pytest.raises(ValueError):
        row[0] = 1.0

import numpy as np
import pytest

from widedeep import SparseInput
from widedeep.gradcheck import check_layer
from widedeep.layers import EmbeddingLayer


def bags(dtype=np.float64):
    # a repeated id inside one bag (2, 2), an empty bag, weighted values
    return SparseInput.from_lists([[1, 2, 2], [], [0], [3, 1]],
                                  weights=[[1.0, 0.5, 2.0], [], [3.0], [0.2, -0.7]], dtype=dtype)


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_embedding_gradients_match_finite_differences(combiner):
    rng = np.random.default_rng(0)
    layer = EmbeddingLayer(rng.standard_normal((6, 3)), combiner)
    check_layer(layer, bags()).assert_passed()


@pytest.mark.parametrize("combiner", ["sum", "mean", "sqrtn"])
def test_embedding_forward_matches_direct_formula(combiner):
    rng = np.random.default_rng(1)
    table = rng.standard_normal((6, 3))
    x = bags()
    out, _ = EmbeddingLayer(table, combiner).forward(x)
    for i, (ids, vals) in enumerate([([1, 2, 2], [1.0, 0.5, 2.0]), ([], []), ([0], [3.0]),
                                     ([3, 1], [0.2, -0.7])]):
        vals = np.array(vals)
        expected = (vals[:, None] * table[ids]).sum(axis=0) if ids else np.zeros(3)
        if ids and combiner == "mean":
            expected /= vals.sum()
        if ids and combiner == "sqrtn":
            expected /= np.sqrt((vals ** 2).sum())
        np.testing.assert_allclose(out[i], expected, rtol=1e-12)


def test_embedding_gradient_is_row_sparse_and_sums_repeats():
    table = np.zeros((1000, 2))
    x = SparseInput.from_lists([[5, 5, 9]], dtype=np.float64)
    layer = EmbeddingLayer(table)
    out, cache = layer.forward(x)
    _, grads = layer.backward(np.array([[1.0, 2.0]]), cache)
    g = grads["table"]
    assert g.rows.tolist() == [5, 9]
    np.testing.assert_array_equal(g.values, [[2.0, 4.0], [1.0, 2.0]])


def test_single_valued_fast_path_equals_general_path():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((10, 4))
    ids = rng.integers(0, 10, 50)
    single = SparseInput.from_ids(ids, dtype=np.float64)
    # same bags, built so the fast path does not apply (one trailing empty bag)
    general = SparseInput(np.arange(50), ids, n_examples=51, dtype=np.float64)
    layer = EmbeddingLayer(table)
    np.testing.assert_allclose(layer.forward(single)[0], layer.forward(general)[0][:50])


def test_out_of_range_id_names_field():
    layer = EmbeddingLayer(np.zeros((3, 2)), field="movie")
    with pytest.raises(ValueError, match="field 'movie'.*out of range"):
        layer.forward(SparseInput.from_ids(np.array([0, 5])))


def test_forward_does_not_write_the_table():
    rng = np.random.default_rng(3)
    table = rng.standard_normal((6, 3))
    before = table.copy()
    EmbeddingLayer(table, "mean").forward(bags())
    np.testing.assert_array_equal(table, before)

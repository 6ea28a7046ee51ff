import numpy as np
import pytest

from widedeep import SparseInput
from widedeep.gradcheck import check_layer
from widedeep.layers import EmbeddingCombineLayer


def shared_setup(l2=0.0):
    rng = np.random.default_rng(0)
    tables = {"app": rng.standard_normal((7, 3)), "device": rng.standard_normal((4, 2))}
    layer = EmbeddingCombineLayer(
        tables, {"installed": "app", "impression": "app", "device": "device"},
        combiners={"installed": "mean", "impression": "sum", "device": "sum"},
        embedding_l2=l2)
    features = {
        "installed": SparseInput.from_lists([[1, 2, 5], [2], []], dtype=np.float64),
        "impression": SparseInput.from_ids(np.array([2, 6, 1]), dtype=np.float64),
        "device": SparseInput.from_ids(np.array([0, 3, 3]), dtype=np.float64),
    }
    return layer, features


class FeatureDictLayer:
    """Adapter so check_layer can perturb the tables of a layer taking a feature dict."""

    def __init__(self, layer, features):
        self.layer, self.features, self.params = layer, features, layer.params

    def forward(self, x, training=False, rng=None):
        return self.layer.forward(self.features)

    def backward(self, grad_out, cache):
        return self.layer.backward(grad_out, cache)

    def penalty(self):
        return self.layer.penalty_of_batch(self.features)


def test_shared_table_gradients_sum_over_fields():
    layer, features = shared_setup()
    check_layer(FeatureDictLayer(layer, features), None).assert_passed()
    out, cache = layer.forward(features)
    assert out.shape == (3, 3 + 3 + 2)
    _, grads = layer.backward(np.ones_like(out), cache)
    # row 2 of "app": installed (mean weights 1/3 and 1) + impression (1) -> 1/3 + 1 + 1
    row = list(grads["app"].rows).index(2)
    np.testing.assert_allclose(grads["app"].values[row], np.full(3, 1 / 3 + 1 + 1))
    assert set(grads) == {"app", "device"}


def test_lazy_l2_only_on_batch_rows():
    layer, features = shared_setup(l2=0.1)
    check_layer(FeatureDictLayer(layer, features), None).assert_passed()
    out, cache = layer.forward(features)
    _, grads = layer.backward(np.zeros_like(out), cache)
    assert grads["app"].rows.tolist() == [1, 2, 5, 6]  # rows 0, 3, 4 untouched
    np.testing.assert_allclose(grads["app"].values, 0.1 * layer.params["app"][[1, 2, 5, 6]])


def single_valued_setup(weights=False):
    rng = np.random.default_rng(3)
    tables = {"user": rng.standard_normal((5, 3)), "item": rng.standard_normal((4, 3))}
    layer = EmbeddingCombineLayer(tables, {"user": "user", "item": "item", "also_item": "item"})
    values = np.array([1.0, 2.0, -0.5]) if weights else None
    features = {
        "user": SparseInput(np.arange(3), [0, 4, 4], values, n_examples=3, dtype=np.float64),
        "item": SparseInput.from_ids(np.array([1, 1, 3]), dtype=np.float64),
        "also_item": SparseInput.from_ids(np.array([1, 0, 2]), dtype=np.float64),
    }
    return layer, features


def test_single_gather_path_matches_field_by_field_and_gradients():
    for weights in (False, True):
        layer, features = single_valued_setup(weights)
        out, cache = layer.forward(features)
        assert cache[0] == "gather"
        expected = np.concatenate([layer.fields[f].forward(features[f])[0] for f in features],
                                  axis=1)
        np.testing.assert_allclose(out, expected, rtol=1e-12)
        check_layer(FeatureDictLayer(layer, features), None).assert_passed()
        # item row 1 is used by "item" twice and by "also_item" once: gradients summed
        _, grads = layer.backward(np.ones_like(out), cache)
        row = list(grads["item"].rows).index(1)
        np.testing.assert_allclose(grads["item"].values[row], np.full(3, 3.0))


def test_tables_of_one_width_share_a_block_and_other_widths_get_their_own():
    rng = np.random.default_rng(4)
    layer = EmbeddingCombineLayer(
        {"a": rng.standard_normal((3, 2)), "b": rng.standard_normal((4, 2)),
         "c": rng.standard_normal((5, 6))}, {"x": "a", "y": "b", "z": "c"})
    assert len(layer.groups) == 2
    assert layer.groups[0].table.shape == (7, 2) and layer.groups[1].table.shape == (5, 6)
    assert np.shares_memory(layer.params["b"], layer.groups[0].table)
    features = {"x": SparseInput.from_lists([[0, 2], []], dtype=np.float64),
                "y": SparseInput.from_ids(np.array([3, 1]), dtype=np.float64),
                "z": SparseInput.from_ids(np.array([4, 4]), dtype=np.float64)}
    check_layer(FeatureDictLayer(layer, features), None).assert_passed()


def test_forward_fields_equals_those_fields_of_each_fields_own_forward():
    # single-valued fields of two blocks, a weighted one, and a bag; any subset, any order
    rng = np.random.default_rng(5)
    layer = EmbeddingCombineLayer(
        {"user": rng.standard_normal((6, 3)).astype(np.float32),
         "item": rng.standard_normal((9, 3)).astype(np.float32),
         "wide_dim": rng.standard_normal((4, 5)).astype(np.float32)},
        {"u": "user", "i": "item", "bag": "item", "w": "wide_dim", "also_u": "user"},
        combiners={"bag": "mean"})
    features = {
        "u": SparseInput.from_ids(rng.integers(0, 6, 4)),
        "i": SparseInput(np.arange(4), rng.integers(0, 9, 4), rng.uniform(0.5, 2, 4),
                         n_examples=4),
        "bag": SparseInput.from_lists([[1, 2, 8], [], [0], [4, 4]]),
        "w": SparseInput.from_ids(rng.integers(0, 4, 4)),
        "also_u": SparseInput.from_ids(rng.integers(0, 6, 4)),
    }
    for fields in (["u", "i", "also_u"], ["bag", "u", "w", "i"], ["w"], list(features)):
        expected = np.concatenate([layer.fields[f].forward(features[f])[0] for f in fields],
                                  axis=1)
        np.testing.assert_array_equal(layer.forward_fields(fields, features), expected)


def test_forward_fields_checks_ids_and_names_the_field():
    layer, features = single_valued_setup()
    features["also_item"] = SparseInput(np.arange(3), [1, 0, 4], n_examples=3,
                                        validate=False)
    with pytest.raises(ValueError, match="'also_item'.*out of range"):
        layer.forward_fields(["item", "also_item"], features)

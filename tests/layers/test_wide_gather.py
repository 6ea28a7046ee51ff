"""The wide part's one-gather path (`widedeep.layers.wide_gather`) equals the field-by-field
computation bit for bit: logits from `WideLayer.field_logits` added field after field, and
coordinate gradients from the per-field entries (one-hot fields, fixed-width bags, feature
values other than 1, repeated coordinates, float32 and float64)."""
import numpy as np
import pytest

from widedeep import FtrlProximal, SparseInput
from widedeep.layers.wide import WideLayer
from widedeep.layers.wide_gather import fixed_widths
from widedeep.segments import sum_duplicates
from widedeep.workspace import Workspace

SIZES = {"a": 7, "b": 300, "cross": 50}


def layer(dtype, seed=0):
    wide = WideLayer(SIZES, FtrlProximal(), dtype=dtype)
    rng = np.random.default_rng(seed)
    wide._weights[...] = rng.standard_normal(wide._weights.shape)
    wide.params["bias"][...] = 0.37
    return wide


def batch(n, dtype, seed=1, cross_width=3):
    rng = np.random.default_rng(seed)
    cross_ids = rng.integers(0, SIZES["cross"], n * cross_width)
    return {
        "a": SparseInput.from_ids(rng.integers(0, SIZES["a"], n), dtype=dtype),
        "b": SparseInput(np.arange(n), rng.integers(0, SIZES["b"], n),
                         rng.uniform(-2, 2, n), n_examples=n, dtype=dtype),
        "cross": SparseInput.from_csr(np.arange(0, n * cross_width + 1, cross_width),
                                      cross_ids, rng.uniform(0.1, 3, n * cross_width),
                                      dtype=dtype),
    }


def field_by_field(wide, features):
    n = features["a"].n_examples
    logits = np.full(n, wide.params["bias"][0], dtype=np.float64)
    for field in SIZES:
        wide.field_logits(field, features[field], out=logits)
    return logits.astype(wide.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cross_width", [1, 3, 10])
def test_one_gather_logits_equal_field_by_field_bit_for_bit(dtype, cross_width):
    wide = layer(dtype)
    features = batch(257, dtype, cross_width=cross_width)
    assert fixed_widths(wide, features) is not None
    for workspace in (None, Workspace()):
        np.testing.assert_array_equal(wide.forward(features, workspace=workspace)[0],
                                      field_by_field(wide, features))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_gather_coordinate_gradients_equal_the_per_field_entries_summed(dtype):
    wide = layer(dtype)
    features = batch(300, dtype)
    g = np.random.default_rng(5).standard_normal(300).astype(dtype)
    ids = np.concatenate([features[f].feature_ids + wide.offsets[f] for f in SIZES])
    entries = np.concatenate([features[f].feature_values.astype(np.float64)
                              * g.astype(np.float64)[features[f].example_indices]
                              for f in SIZES])
    expected_coords, expected_values = sum_duplicates(ids, entries)
    coords, values, bias = wide.coordinate_gradients(g, features, Workspace())
    np.testing.assert_array_equal(coords, expected_coords)
    np.testing.assert_array_equal(values, expected_values)
    assert bias[0] == g.sum(dtype=np.float64)
    # an independent dense reference, to float64 rounding
    dense = np.zeros(wide.n_coordinates)
    np.add.at(dense, ids, entries)
    np.testing.assert_allclose(values, dense[coords], rtol=1e-12, atol=1e-15)


def test_ragged_bags_and_mixed_dtypes_use_the_field_by_field_path():
    wide = layer(np.float32)
    features = batch(20, np.float32)
    features["cross"] = SparseInput.from_lists([[1, 2]] * 10 + [[3]] * 10)
    assert fixed_widths(wide, features) is None
    np.testing.assert_array_equal(wide.forward(features)[0], field_by_field(wide, features))
    features = batch(20, np.float32)
    features["a"] = features["a"].astype(np.float64)
    assert fixed_widths(wide, features) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_field_terms_are_each_fields_own_term_bit_for_bit(dtype):
    from widedeep.layers.wide_gather import field_terms
    wide = layer(dtype)
    features = batch(33, dtype, cross_width=4)
    for fields in (["a", "b", "cross"], ["cross", "a"], ["b"]):
        terms = field_terms(wide, features, fields, 33)
        for row, field in enumerate(fields):
            np.testing.assert_array_equal(terms[row], wide.field_logits(field, features[field]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logits_with_query_equal_field_by_field_with_the_query_terms(dtype):
    # a ranking request: field "a" comes from the query (one term for every candidate)
    from widedeep.layers.wide_gather import logits_with_query
    wide = layer(dtype)
    features = batch(40, dtype, cross_width=2)
    query_term = wide.field_logits("a", SparseInput.from_ids(np.array([3]), dtype=dtype))[0]
    expected = np.full(40, wide.params["bias"][0], dtype=np.float64)
    for field in SIZES:
        if field == "a":
            expected += query_term
        else:
            wide.field_logits(field, features[field], out=expected)
    np.testing.assert_array_equal(logits_with_query(wide, features, {"a": query_term}, 40),
                                  expected)


def test_one_hot_fields_beside_a_ragged_bag_are_found_once_and_checked_by_field():
    # forward finds the one-hot fields once and hands them to the checks and the gather:
    # same logits as field by field, and a bad id still names its own field
    from widedeep.layers.wide_gather import field_terms
    wide = layer(np.float32)
    features = batch(20, np.float32)
    features["cross"] = SparseInput.from_lists([[1, 2]] * 10 + [[3]] * 10)
    logits = wide.forward(features, workspace=Workspace(), validate=True)[0]
    np.testing.assert_array_equal(logits, field_by_field(wide, features))
    terms = field_terms(wide, features, list(SIZES), 20, hot=[0, 1])
    for row, field in enumerate(SIZES):
        np.testing.assert_array_equal(terms[row], wide.field_logits(field, features[field]))
    for field, bad in (("b", SparseInput(np.arange(20), np.full(20, SIZES["b"]), None,
                                         n_examples=20, validate=False)),
                       ("cross", SparseInput.from_lists([[1, SIZES["cross"]]] * 20))):
        broken = dict(features, **{field: bad})
        with pytest.raises(ValueError, match=f"field '{field}'"):
            wide.forward(broken, validate=True)

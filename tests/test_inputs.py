import numpy as np
import pytest
import scipy.sparse as sp

from widedeep import SparseInput


def test_from_lists_builds_sorted_triplet_with_empty_bags():
    x = SparseInput.from_lists([[3, 1], [], [2, 2]], weights=[[1.0, 0.5], [], [1.0, 2.0]],
                               field="apps")
    assert x.example_indices.tolist() == [0, 0, 2, 2]
    assert x.feature_ids.tolist() == [3, 1, 2, 2]
    assert x.feature_values.tolist() == [1.0, 0.5, 1.0, 2.0]
    assert x.feature_values.dtype == np.float32
    assert x.indptr.tolist() == [0, 2, 2, 4]
    assert x.bag_lengths.tolist() == [2, 0, 2]


def test_from_scipy_round_trip():
    m = sp.csr_matrix(np.array([[0, 2.0, 0], [0, 0, 0], [1.0, 0, 3.0]]))
    x = SparseInput.from_scipy(m, field="f")
    assert x.n_examples == 3
    assert x.to_lists() == [[1], [], [0, 2]]
    np.testing.assert_array_equal(x.to_scipy(3).toarray(), m.toarray())


def test_take_and_slice_select_bags():
    x = SparseInput.from_lists([[1], [2, 3], [], [4]])
    assert x.take([3, 1, 1, 2]).to_lists() == [[4], [2, 3], [2, 3], []]
    assert x.slice(1, 3).to_lists() == [[2, 3], []]
    assert x.slice(1, 3).example_indices.tolist() == [0, 0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(example_indices=[0, 1], feature_ids=[1], n_examples=2), "same length"),
    (dict(example_indices=[1, 0], feature_ids=[1, 2], n_examples=2), "sorted"),
    (dict(example_indices=[0, 1], feature_ids=[1, -2], n_examples=2), "negative feature id"),
    (dict(example_indices=[0, 3], feature_ids=[1, 2], n_examples=2), "outside"),
    (dict(example_indices=[0, 1], feature_ids=[1, 7], n_examples=2, vocab_size=5),
     "out of range for a vocabulary of size 5"),
    (dict(example_indices=[0, 1], feature_ids=[1, 2], feature_values=[1.0, np.nan],
          n_examples=2), "non-finite"),
])
def test_validation_errors_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        SparseInput(field="installed_apps", **kwargs)
    assert "installed_apps" in str(info.value)


def test_mismatched_weights_name_the_example():
    with pytest.raises(ValueError, match="example 1 has 2 ids but 1 weights"):
        SparseInput.from_lists([[1], [2, 3]], weights=[[1.0], [1.0]], field="f")


def _same_input(a, b):
    assert (a.field, a.n_examples, a.one_per_example) == (b.field, b.n_examples,
                                                           b.one_per_example)
    for name in ("example_indices", "feature_ids", "feature_values"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tolist() == y.tolist(), name


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16])
def test_from_id_columns_builds_what_from_ids_builds_per_column(dtype):
    ids = np.random.default_rng(3).integers(0, 50, size=(7, 3)).astype(dtype)
    built = SparseInput.from_id_columns(ids, ["a", "b", "c"], vocab_sizes=[50, None, 60])
    assert list(built) == ["a", "b", "c"]
    for j, field in enumerate(built):
        _same_input(built[field], SparseInput.from_ids(ids[:, j], field=field))
        assert built[field].indptr.tolist() == list(range(8))


def test_from_id_columns_shares_read_only_rows_and_values():
    built = SparseInput.from_id_columns(np.array([[1, 2], [3, 4]]), ["a", "b"])
    assert built["a"].example_indices is built["b"].example_indices
    with pytest.raises(ValueError):
        built["a"].feature_values[0] = 2.0
    assert built["b"].feature_values.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("column, message", [
    (np.array([0, -1, 2]), "field 'b': negative feature id -1 in example 1"),
    (np.array([0, 1, 9]), "field 'b': feature id 9 in example 2 is out of range for a "
                          "vocabulary of size 5"),
])
def test_from_id_columns_raises_the_failing_fields_own_error(column, message):
    ids = np.stack([np.array([0, 1, 2]), column, np.array([7, 7, 70])], axis=1)
    with pytest.raises(ValueError) as columns_error:
        SparseInput.from_id_columns(ids, ["a", "b", "c"], vocab_sizes=[5, 5, 5])
    with pytest.raises(ValueError) as own_error:
        SparseInput.from_ids(column, field="b", vocab_size=5)
    assert str(columns_error.value) == str(own_error.value) == message


def test_from_id_columns_refuses_float_ids_and_wrong_shapes():
    with pytest.raises(TypeError, match="field 'a'"):
        SparseInput.from_id_columns(np.array([[0.5], [1.0]]), ["a"])
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        SparseInput.from_id_columns(np.array([[0], [1]]), ["a", "b"])
    huge = np.array([[2 ** 63], [1]], dtype=np.uint64)
    with pytest.raises(ValueError, match="does not fit in int64"):
        SparseInput.from_id_columns(huge, ["a"])

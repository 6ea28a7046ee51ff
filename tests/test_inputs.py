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

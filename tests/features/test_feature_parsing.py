import numpy as np
import pytest

from widedeep.features.parsing import numbers_of, token_bag, tokens_of, unique_inverse
from widedeep.records import Ragged


def bag_lists(bag):
    tokens = bag.unique_tokens[bag.inverse].tolist()
    rows = bag.row_ids.tolist()
    return [[t for t, r in zip(tokens, rows) if r == i] for i in range(bag.n_rows)]


def test_separator_joined_strings_split_into_bags_with_empty_strings_as_empty_bags():
    bag = token_bag(np.array(["a|b", "", "c", "a||d|"]), "genres", separator="|")
    assert bag_lists(bag) == [["a", "b"], [], ["c"], ["a", "d"]]


def test_object_lists_and_none_become_bags():
    column = np.empty(3, dtype=object)
    column[:] = [["x", "y"], None, ("z",)]
    assert bag_lists(token_bag(column, "c")) == [["x", "y"], [], ["z"]]


def test_ragged_weights_are_kept_and_empty_tokens_dropped():
    ragged = Ragged(np.array(["a", "", "b"]), [2, 1], weights=[0.5, 9.0, 2.0])
    bag = token_bag(ragged, "c")
    assert bag_lists(bag) == [["a"], ["b"]]
    assert bag.weights.tolist() == [0.5, 2.0]


def test_single_values_keep_missing_as_the_empty_token():
    bag = token_bag(np.array(["a", "", "b"]), "c")
    assert bag.single and bag_lists(bag) == [["a"], [""], ["b"]]


def test_integral_floats_read_like_integers_and_nan_is_missing():
    assert tokens_of(np.array([7.0, 2.5, np.nan]), "c").tolist() == ["7", "2.5", ""]
    assert tokens_of(np.array([7, 8]), "c").tolist() == ["7", "8"]
    objects = np.array([None, 3, 3.0, "q", float("nan")], dtype=object)
    assert tokens_of(objects, "c").tolist() == ["", "3", "3", "q", ""]


def test_numbers_parse_strings_with_missing_as_nan():
    numbers = numbers_of(np.array(["1.5", " 2 ", "", "inf"]), "age")
    assert numbers[:2].tolist() == [1.5, 2.0] and np.isnan(numbers[2:]).all()


def test_unparsable_number_names_column_and_row():
    with pytest.raises(ValueError, match=r"column 'age' row 2: cannot parse 'old'"):
        numbers_of(np.array(["1", "2", "old"]), "age")


def test_unique_inverse_matches_numpy_unique():
    tokens = np.array(["b", "a", "c", "a", "b", "b"])
    unique, inverse = unique_inverse(tokens)
    expected_unique, expected_inverse = np.unique(tokens, return_inverse=True)
    assert unique.tolist() == expected_unique.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()

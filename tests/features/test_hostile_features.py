"""Hostile feature dicts and raw columns: overflow when casting to float32, very long
tokens, huge crosses, spec fitting on nothing."""
import logging

import numpy as np
import pytest

from widedeep.features import (CategoricalColumn, CrossedColumn, FeatureSpec, HashedColumn,
                               NumericColumn)
from widedeep.limits import get_limits, limits, set_limits
from widedeep.records import Ragged


def test_a_finite_float64_that_overflows_float32_names_column_and_row():
    spec = FeatureSpec([NumericColumn("x", normalization="raw")])
    with pytest.raises(ValueError, match=r"column 'x' row 1: value 1e\+300 is not finite as "
                                         r"float32"):
        spec.transform({"x": np.array([1.0, 1e300])})


def test_wide_numeric_overflow_names_column_and_row():
    spec = FeatureSpec([NumericColumn("x", normalization="raw", deep=False, wide=True)])
    with pytest.raises(ValueError, match=r"column 'x' row 2"):
        spec.transform({"x": np.array([1.0, 2.0, -1e39])})


def test_ragged_weight_that_overflows_float32_names_column_and_row():
    spec = FeatureSpec([CategoricalColumn("c", vocabulary=["a", "b"])])
    bags = Ragged(np.array(["a", "b", "a"]), [1, 2], [1.0, 2.0, 1e39])
    with pytest.raises(ValueError, match=r"column 'c' row 1: value 1e\+39"):
        spec.transform({"c": bags})


@pytest.mark.parametrize("as_list", [False, True])
def test_a_token_longer_than_the_limit_is_an_error_not_a_huge_array(as_list):
    values = ["a"] * 4095 + ["x" * 100_000]
    column = values if as_list else np.array(values, dtype=object)
    spec = FeatureSpec([CategoricalColumn("c")])
    with pytest.raises(ValueError, match=r"column 'c' row 4095: a categorical value of 100000 "
                                         r"characters is longer than max_token_chars=4096"):
        spec.fit({"c": column})


def test_long_tokens_in_bags_name_the_row():
    spec = FeatureSpec([HashedColumn("c", 10)])
    bags = Ragged.from_lists([["a"], [], ["b", "y" * 5000]])
    with pytest.raises(ValueError, match=r"column 'c' row 2: a categorical value of 5000"):
        spec.transform({"c": bags})


def test_the_token_limit_is_configurable():
    spec = FeatureSpec([HashedColumn("c", 10)])
    with limits(max_token_chars=200_000):
        assert spec.transform({"c": np.array(["x" * 100_000], dtype=object)})["c"].nnz == 1
    assert get_limits().max_token_chars == 4096


def test_set_limits_checks_names_and_values():
    with pytest.raises(TypeError, match="unknown limit 'max_tokens'"):
        set_limits(max_tokens=3)
    with pytest.raises(ValueError, match="positive integer"):
        set_limits(max_token_chars=0)
    previous = set_limits(max_cross_ids=5)
    try:
        assert get_limits().max_cross_ids == 5
    finally:
        set_limits(**vars(previous))


def _cross_spec():
    return FeatureSpec([HashedColumn("a", 50, wide=False), HashedColumn("b", 50, wide=False),
                        CrossedColumn(["a", "b"], hash_buckets=1000)])


def test_a_cross_of_two_large_bags_is_refused_before_allocating():
    bag = Ragged(np.array([f"t{i}" for i in range(20_000)]), [0, 20_000])
    with pytest.raises(ValueError, match=r"column 'a_x_b' row 1: crossing bags of 20000 x "
                                         r"20000 values gives 400000000 ids, more than "
                                         r"max_cross_ids_per_row=10000"):
        _cross_spec().transform({"a": bag, "b": bag})


def test_the_batch_total_of_cross_ids_is_bounded():
    bag = Ragged(np.array([f"t{i % 10}" for i in range(1000)]), [10] * 100)
    spec = _cross_spec()
    assert spec.transform({"a": bag, "b": bag})["a_x_b"].nnz == 100 * 10 * 10
    with limits(max_cross_ids=9999):
        with pytest.raises(ValueError, match=r"column 'a_x_b': the batch's crosses give 10000 "
                                             r"ids, more than max_cross_ids=9999"):
            spec.transform({"a": bag, "b": bag})


def test_fitting_on_zero_rows_is_an_error_and_leaves_the_spec_unfitted():
    spec = FeatureSpec([CategoricalColumn("c")])
    with pytest.raises(ValueError, match="0 rows"):
        spec.fit({"c": np.array([], dtype=str)})
    assert not spec.fitted


def test_a_vocabulary_that_learns_nothing_is_logged(caplog):
    spec = FeatureSpec([CategoricalColumn("c")])
    with caplog.at_level(logging.WARNING, logger="widedeep"):
        spec.fit({"c": np.array(["", ""])})
    assert "vocabulary 'c' learned no token from 2 rows" in caplog.text
    assert spec.transform({"c": np.array(["z"])})["c"].feature_ids.tolist() == [0]

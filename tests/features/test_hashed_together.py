"""Small batches hash their hashed columns together (`widedeep.features.hashed_together`):
exactly the arrays and errors of each column's own `HashedColumn.transform`."""
import numpy as np
import pytest

from widedeep.features import CategoricalColumn, CrossedColumn, FeatureSpec, HashedColumn
from widedeep.features.hashed_together import MAX_TOKENS_TOGETHER, hash_columns_together
from widedeep.features.hashing import hash_to_buckets
from widedeep.features.parsing import ParsedBatch
from widedeep.limits import limits
from widedeep.records import Ragged


def assert_same_sparse(got, expected):
    assert got.field == expected.field
    assert got.n_examples == expected.n_examples
    for name in ("example_indices", "feature_ids", "feature_values"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def column_by_column(spec, batch):
    """The general path: every sparse column's own transform on a fresh parsed batch."""
    parsed = ParsedBatch(batch)
    return {c.name: c.transform(parsed) for c in spec.columns if c.wide or c.deep}


def random_tokens(rng, n, empty_share=0.2):
    alphabet = ["a", "bb", "ccc", "", "é", "日本", "x" * 40, "7", "07", "id_12345"]
    weights = np.where(np.array([t == "" for t in alphabet]), empty_share, 1.0)
    return rng.choice(alphabet, size=n, p=weights / weights.sum())


def hashed_spec():
    return FeatureSpec([
        HashedColumn("user", 97, embedding_dim=4),
        HashedColumn("country", 13),
        HashedColumn("apps", 1000, wide=False, embedding_dim=4, combiner="mean"),
        HashedColumn("item", 1 << 20, embedding_dim=4),
        CrossedColumn(["apps", "item"], hash_buckets=5000)])


def random_batch(rng, n):
    lengths = rng.integers(0, 6, n)
    return {"user": random_tokens(rng, n), "country": random_tokens(rng, n),
            "apps": Ragged(random_tokens(rng, int(lengths.sum())), lengths),
            "item": random_tokens(rng, n)}


@pytest.mark.parametrize("n", [1, 2, 37, 300])
def test_small_batches_give_the_arrays_of_each_columns_own_transform(n):
    rng = np.random.default_rng(n)
    spec = hashed_spec()
    for _ in range(5):
        batch = random_batch(rng, n)
        assert set(hash_columns_together(spec.columns, ParsedBatch(batch))) == \
            {"user", "country", "apps", "item"}
        got, expected = spec.transform(batch), column_by_column(spec, batch)
        assert list(got) == list(expected)
        for field in expected:
            assert_same_sparse(got[field], expected[field])


def test_ids_are_the_documented_hash_of_each_token_mod_the_columns_buckets():
    spec = hashed_spec()
    batch = {"user": np.array(["ann"]), "country": np.array([""]),
             "apps": Ragged(np.array(["a", "", "日本", "a"]), [4]), "item": np.array(["z9"])}
    got = hash_columns_together(spec.columns, ParsedBatch(batch))
    assert got["user"].feature_ids.tolist() == hash_to_buckets(["ann"], 97).tolist()
    assert got["country"].feature_ids.tolist() == hash_to_buckets([""], 13).tolist()
    # the bag drops its empty token and keeps the others in their order, repeats included
    assert got["apps"].feature_ids.tolist() == hash_to_buckets(["a", "日本", "a"], 1000).tolist()
    assert got["apps"].example_indices.tolist() == [0, 0, 0]
    assert got["item"].feature_ids.tolist() == hash_to_buckets(["z9"], 1 << 20).tolist()
    assert got["item"].feature_values.tolist() == [1.0]


def test_a_query_row_with_only_some_fields_wanted():
    rng = np.random.default_rng(3)
    spec = hashed_spec()
    batch = random_batch(rng, 1)
    got = spec.transform({k: batch[k] for k in ("user", "apps")}, fields=["user", "apps"])
    expected = column_by_column(spec, batch)
    assert list(got) == ["user", "apps"]
    for field in got:
        assert_same_sparse(got[field], expected[field])


@pytest.mark.parametrize("column", [
    np.array([3, 4], dtype=np.int64),                       # integers
    np.array(["a", None], dtype=object),                    # objects (missing values)
    Ragged(np.array(["a", "b", "c"]), [2, 1], weights=[1.0, 2.0, 0.5]),   # weighted bag
    Ragged(np.array([], dtype=float), [0, 0]),              # an empty bag of no dtype
])
def test_other_columns_are_left_to_the_columns_own_transform(column):
    spec = FeatureSpec([HashedColumn("a", 50), HashedColumn("b", 50)])
    batch = {"a": column, "b": np.array(["x", "y"])}
    assert set(hash_columns_together(spec.columns, ParsedBatch(batch))) == {"b"}
    got, expected = spec.transform(batch), column_by_column(spec, batch)
    for field in expected:
        assert_same_sparse(got[field], expected[field])


def test_separator_columns_subclasses_and_vocabulary_columns_are_left_alone():
    class MyHashed(HashedColumn):
        pass

    spec = FeatureSpec([HashedColumn("joined", 50, separator="|"), MyHashed("mine", 50),
                        CategoricalColumn("cat", vocabulary=["x"]), HashedColumn("h", 50)])
    batch = {"joined": np.array(["a|b"]), "mine": np.array(["m"]), "cat": np.array(["x"]),
             "h": np.array(["h"])}
    assert set(hash_columns_together(spec.columns, ParsedBatch(batch))) == {"h"}
    got, expected = spec.transform(batch), column_by_column(spec, batch)
    for field in expected:
        assert_same_sparse(got[field], expected[field])


def test_a_column_feeding_neither_part_is_not_hashed():
    spec = FeatureSpec([HashedColumn("a", 50, wide=False), HashedColumn("b", 50),
                        CrossedColumn(["a", "b"], hash_buckets=100)])
    batch = {"a": np.array(["x"]), "b": np.array(["y"])}
    assert set(hash_columns_together(spec.columns, ParsedBatch(batch))) == {"b"}
    assert set(spec.transform(batch)) == {"b", "a_x_b"}


def test_too_long_tokens_raise_the_columns_own_error():
    spec = FeatureSpec([HashedColumn("ok", 50), HashedColumn("long", 50)])
    batch = {"ok": np.array(["a", "b"]), "long": np.array(["short", "y" * 30])}
    with limits(max_token_chars=20):
        assert set(hash_columns_together(spec.columns, ParsedBatch(batch))) == {"ok"}
        with pytest.raises(ValueError) as general:
            spec.columns[1].transform(ParsedBatch(batch))
        with pytest.raises(ValueError) as together:
            spec.transform(batch)
    assert str(together.value) == str(general.value)
    assert "column 'long' row 1" in str(together.value)


def test_a_wide_array_of_short_tokens_is_left_to_the_column_and_transforms():
    spec = FeatureSpec([HashedColumn("a", 50)])
    batch = {"a": np.array(["abc"], dtype="U64")}
    with limits(max_token_chars=20):
        assert hash_columns_together(spec.columns, ParsedBatch(batch)) == {}
        assert_same_sparse(spec.transform(batch)["a"], column_by_column(spec, batch)["a"])


def test_batches_over_the_token_budget_hash_the_columns_that_fit():
    spec = FeatureSpec([HashedColumn("a", 50), HashedColumn("b", 50)])
    n = MAX_TOKENS_TOGETHER // 2 + 1
    batch = {"a": np.array(["x"] * n), "b": np.array(["y"] * n)}
    assert set(hash_columns_together(spec.columns, ParsedBatch(batch))) == {"a"}
    got, expected = spec.transform(batch), column_by_column(spec, batch)
    for field in expected:
        assert_same_sparse(got[field], expected[field])

"""`FeatureSpec.transform(..., fields=...)` computes only the named fields and needs only the
raw columns they read; `FeatureSpec.field_sources` says which those are."""
import numpy as np
import pytest

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, HashedColumn, NumericColumn)
from widedeep.inputs import SparseInput
from widedeep.records import Ragged


def spec_and_batch():
    rng = np.random.default_rng(0)
    n = 50
    batch = {"user": rng.choice(["ann", "bob", "cy"], size=n).astype(object),
             "apps": Ragged.from_lists([list(rng.choice(["a", "b", "c", "d"], size=k))
                                        for k in rng.integers(0, 4, n)]),
             "item": rng.choice(["x", "y", "z"], size=n).astype(object),
             "age": rng.uniform(18, 70, n), "price": rng.exponential(3.0, n)}
    spec = FeatureSpec([
        CategoricalColumn("user", embedding_dim=3),
        HashedColumn("apps", 50, wide=False, embedding_dim=3, combiner="mean"),
        HashedColumn("item", 20, embedding_dim=3),
        BucketizedColumn("age_buckets", source="age", boundaries=[30, 50]),
        NumericColumn("age", normalization="standardize"),
        NumericColumn("price", normalization="log1p"),
        CrossedColumn(["apps", "item"], hash_buckets=100)]).fit([batch])
    return spec, batch


def test_field_sources_name_each_field_and_the_raw_columns_it_reads():
    spec, _ = spec_and_batch()
    assert spec.field_sources() == {"user": ("user",), "apps": ("apps",), "item": ("item",),
                                    "age_buckets": ("age",), "apps_x_item": ("apps", "item"),
                                    "numeric": ("age", "price")}


@pytest.mark.parametrize("fields", [["user"], ["apps_x_item", "item"], ["numeric"],
                                    ["age_buckets", "apps"]])
def test_only_the_asked_fields_are_computed_and_equal_the_full_transform(fields):
    spec, batch = spec_and_batch()
    full = spec.transform(batch)
    some = spec.transform(batch, fields=fields)
    assert set(some) == set(fields)
    for field in fields:
        if isinstance(full[field], SparseInput):
            np.testing.assert_array_equal(some[field].feature_ids, full[field].feature_ids)
            np.testing.assert_array_equal(some[field].example_indices,
                                          full[field].example_indices)
            np.testing.assert_array_equal(some[field].feature_values,
                                          full[field].feature_values)
        else:
            np.testing.assert_array_equal(some[field], full[field])


def test_only_the_columns_the_fields_read_are_needed():
    spec, batch = spec_and_batch()
    features = spec.transform({"apps": batch["apps"], "item": batch["item"]},
                              fields=["apps_x_item"])
    assert features["apps_x_item"].n_examples == 50
    with pytest.raises(ValueError, match=r"column 'item' \(needed by item, apps_x_item\) is "
                                         r"missing"):
        spec.transform({"apps": batch["apps"]}, fields=["apps_x_item"])


def test_an_unknown_field_is_refused_by_name():
    spec, batch = spec_and_batch()
    with pytest.raises(ValueError, match=r"unknown field 'price'; the spec produces \['user'"):
        spec.transform(batch, fields=["user", "price"])
    with pytest.raises(TypeError, match="the string 'user'"):
        spec.transform(batch, fields="user")


def test_fields_apply_to_every_batch_of_a_reader():
    spec, batch = spec_and_batch()
    halves = [{k: (v.take(np.arange(a, b)) if isinstance(v, Ragged) else v[a:b])
               for k, v in batch.items()} for a, b in ((0, 20), (20, 50))]
    features = spec.transform(iter(halves), fields=["numeric"])
    assert list(features) == ["numeric"]
    np.testing.assert_array_equal(features["numeric"], spec.transform(batch)["numeric"])

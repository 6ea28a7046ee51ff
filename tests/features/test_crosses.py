import numpy as np
import pytest

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, NumericColumn)
from widedeep.features.hashing import combine_hashes, stable_hash
from widedeep.records import Ragged


def expected_id(tokens, buckets):
    key = stable_hash([tokens[0]])
    for token in tokens[1:]:
        key = combine_hashes(key, stable_hash([token]))
    return int(key[0] % np.uint64(buckets))


def test_cross_of_two_bags_emits_every_pair_per_row():
    spec = FeatureSpec([CategoricalColumn("a", vocabulary=["x"], wide=False),
                        CategoricalColumn("b", vocabulary=["p"], wide=False),
                        CrossedColumn(["a", "b"], hash_buckets=10_000)])
    batch = {"a": Ragged.from_lists([["x", "y"], ["z"], [], ["x", "y", "w"]]),
             "b": Ragged.from_lists([["p", "q", "r"], ["p"], ["p"], ["q", "r"]])}
    x = spec.transform(batch)["a_x_b"]
    assert x.bag_lengths.tolist() == [6, 1, 0, 6]      # 2*3, 1*1, 0*1, 3*2
    assert set(spec.transform(batch)) == {"a_x_b"}
    expected_row0 = [expected_id([a, b], 10_000) for a in "xy" for b in "pqr"]
    assert x.to_lists()[0] == expected_row0
    assert x.to_lists()[1] == [expected_id(["z", "p"], 10_000)]


def test_three_way_cross_with_bucketized_column_matches_hand_computed_ids():
    spec = FeatureSpec([BucketizedColumn("age_buckets", source="age", boundaries=[30],
                                         wide=False),
                        CategoricalColumn("edu", vocabulary=["BS"], wide=False),
                        CategoricalColumn("job", separator="|", vocabulary=["dev"], wide=False),
                        CrossedColumn(["age_buckets", "edu", "job"], hash_buckets=997)])
    batch = {"age": np.array([25.0, 40.0]), "edu": np.array(["BS", "MS"]),
             "job": np.array(["dev|ops", ""])}
    x = spec.transform(batch)["age_buckets_x_edu_x_job"]
    assert x.to_lists() == [[expected_id(["0", "BS", "dev"], 997),
                             expected_id(["0", "BS", "ops"], 997)], []]
    assert spec.describe_cross("age_buckets_x_edu_x_job",
                               {"age_buckets": 25, "edu": "BS", "job": ["ops"]}) == \
        [expected_id(["0", "BS", "ops"], 997)]


def test_cross_of_single_valued_columns_uses_raw_tokens_not_vocabulary_ids():
    spec = FeatureSpec([CategoricalColumn("a", min_count=5, wide=False),
                        CategoricalColumn("b", min_count=5, wide=False),
                        CrossedColumn(["a", "b"], hash_buckets=100, name="ab")])
    spec.fit({"a": np.array(["x", "y"]), "b": np.array(["p", "q"])})
    x = spec.transform({"a": np.array(["x", "y"]), "b": np.array(["p", "q"])})["ab"]
    assert x.feature_ids.tolist() == [expected_id(["x", "p"], 100),
                                      expected_id(["y", "q"], 100)]
    assert spec.estimator_params()["wide_fields"] == {"ab": 100}


def test_cross_order_matters():
    spec = FeatureSpec([CategoricalColumn("a", vocabulary=["x"], wide=False),
                        CategoricalColumn("b", vocabulary=["x"], wide=False),
                        CrossedColumn(["a", "b"], 1 << 30), CrossedColumn(["b", "a"], 1 << 30)])
    out = spec.transform({"a": np.array(["x"]), "b": np.array(["y"])})
    assert out["a_x_b"].feature_ids[0] != out["b_x_a"].feature_ids[0]


def test_cross_components_must_be_categorical_columns_of_the_spec():
    with pytest.raises(ValueError, match="'c' is not a column of the spec"):
        FeatureSpec([CategoricalColumn("a"), CrossedColumn(["a", "c"], 10)])
    with pytest.raises(TypeError, match="bucketize numbers first"):
        FeatureSpec([CategoricalColumn("a"), NumericColumn("n"), CrossedColumn(["a", "n"], 10)])
    with pytest.raises(ValueError, match="at least 2"):
        CrossedColumn(["a"], 10)

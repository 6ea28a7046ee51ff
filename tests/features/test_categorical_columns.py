import numpy as np
import pytest

from widedeep.features import CategoricalColumn, FeatureSpec, HashedColumn, Vocabulary
from widedeep.features.hashing import stable_hash
from widedeep.records import Ragged


def test_learned_column_maps_unseen_and_missing_values_to_oov():
    spec = FeatureSpec([CategoricalColumn("city", min_count=2)])
    spec.fit({"city": np.array(["paris", "rome", "paris", "oslo", "rome", "paris"])})
    x = spec.transform({"city": np.array(["rome", "tokyo", "", "paris"])})["city"]
    assert x.feature_ids.tolist() == [2, 0, 0, 1]
    assert x.example_indices.tolist() == [0, 1, 2, 3]
    assert spec.vocabulary_tokens("city") == ["<OOV>", "paris", "rome"]


def test_given_vocabulary_needs_no_fit():
    spec = FeatureSpec([CategoricalColumn("gender", vocabulary=["Female", "Male"])])
    x = spec.transform({"gender": np.array(["Male", "Other", "Female"])})["gender"]
    assert x.feature_ids.tolist() == [2, 0, 1]


def test_bag_column_from_joined_strings_keeps_empty_bags():
    spec = FeatureSpec([CategoricalColumn("genres", separator="|", embedding_dim=4,
                                          combiner="mean", wide=False)])
    spec.fit({"genres": np.array(["drama|comedy", "drama", ""])})
    x = spec.transform({"genres": np.array(["comedy|drama|horror", "", "drama"])})["genres"]
    # vocabulary: drama (2), comedy (1) -> ids 1, 2
    assert x.to_lists() == [[2, 1, 0], [], [1]]
    assert x.n_examples == 3


def test_ragged_weights_become_feature_values():
    spec = FeatureSpec([CategoricalColumn("apps", vocabulary=["a", "b"])])
    ragged = Ragged(np.array(["b", "a", "a"]), [2, 1], weights=[0.25, 0.5, 2.0])
    x = spec.transform({"apps": ragged})["apps"]
    assert x.to_lists() == [[2, 1], [1]]
    assert x.feature_values.tolist() == [0.25, 0.5, 2.0]


def test_hashed_column_ids_are_stable_hash_mod_buckets():
    spec = FeatureSpec([HashedColumn("user", 50)])
    users = np.array(["u1", "u2", "u1", ""])
    x = spec.transform({"user": users})["user"]
    expected = (stable_hash(users) % np.uint64(50)).astype(np.int64).tolist()
    assert x.feature_ids.tolist() == expected


def test_integer_ids_and_float_ids_share_tokens():
    spec = FeatureSpec([CategoricalColumn("movie")])
    spec.fit({"movie": np.array([10, 20, 10])})
    assert spec.transform({"movie": np.array([20.0, 10.0, 30.0])})["movie"] \
        .feature_ids.tolist() == [2, 1, 0]


def test_vocabulary_settings_cannot_be_mixed_with_a_vocabulary_object():
    with pytest.raises(ValueError, match="set them on the Vocabulary"):
        CategoricalColumn("a", vocabulary=Vocabulary("v"), min_count=3)


def test_bad_column_parameters_are_rejected():
    with pytest.raises(ValueError, match="combiner"):
        CategoricalColumn("a", combiner="max")
    with pytest.raises(ValueError, match="embedding_dim"):
        CategoricalColumn("a", embedding_dim=0)
    with pytest.raises(TypeError, match="vocabulary"):
        CategoricalColumn("a", vocabulary="abc")
    with pytest.raises(ValueError, match="column 'h'.*>= 1"):
        HashedColumn("h", 0)
    with pytest.raises(TypeError, match="separator"):
        CategoricalColumn("a", separator="")

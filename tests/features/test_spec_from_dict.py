"""`FeatureSpec.from_dict` checks every key of a serialized spec and names the column
(or vocabulary) and the key."""
import copy

import numpy as np
import pytest

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, NumericColumn)


@pytest.fixture(scope="module")
def saved():
    spec = FeatureSpec([CategoricalColumn("color", embedding_dim=2),
                        BucketizedColumn("size", n_buckets=3),
                        NumericColumn("age"),
                        CrossedColumn(["color", "size"], hash_buckets=10)])
    batch = {"color": np.array(["red", "blue", "red", "green"]),
             "size": np.array([1.0, 2.0, 3.0, 4.0]), "age": np.array([20.0, 30, 40, 50])}
    return spec.fit(batch).to_dict()


def _load(saved, mutate):
    data = copy.deepcopy(saved)
    mutate(data)
    return FeatureSpec.from_dict(data)


def test_the_unchanged_dict_loads(saved):
    assert FeatureSpec.from_dict(copy.deepcopy(saved)).to_dict() == saved


CASES = [
    (lambda d: d.pop("vocabularies"), ValueError, r"spec: missing key 'vocabularies'"),
    (lambda d: d.__setitem__("extra", 1), ValueError, r"spec: key 'extra' is unknown"),
    (lambda d: d.__setitem__("columns", {}), TypeError, r"key 'columns' must be a list"),
    (lambda d: d.__setitem__("n_rows_seen", -1), ValueError, r"n_rows_seen' must be >= 0"),
    (lambda d: d["columns"][0]["config"].__setitem__("colour", "red"), ValueError,
     r"columns\[0\] \('color'\): key 'config': key 'colour' is unknown"),
    (lambda d: d["columns"][0]["config"].pop("name"), ValueError,
     r"columns\[0\]: key 'config': missing key 'name'"),
    (lambda d: d["columns"][0]["config"].__setitem__("embedding_dim", "2"), TypeError,
     r"columns\[0\] \('color'\): .*embedding_dim must be an int"),
    (lambda d: d["columns"][0]["config"].__setitem__("vocabulary", "nope"), ValueError,
     r"columns\[0\] \('color'\): config key 'vocabulary' is 'nope'"),
    (lambda d: d["columns"][0].__setitem__("type", "magic"), ValueError,
     r"columns\[0\] \('color'\): unknown column type 'magic'"),
    (lambda d: d["columns"][0].pop("config"), ValueError, r"columns\[0\]: missing key 'config'"),
    (lambda d: d["vocabularies"][0].__setitem__("tokens", 5), TypeError,
     r"vocabularies\[0\] \('color'\): key 'tokens' must be a list"),
    (lambda d: d["vocabularies"][0].__setitem__("tokens", ["red", "red"]), ValueError,
     r"vocabularies\[0\] \('color'\): token 'red' appears twice"),
    (lambda d: d["vocabularies"][0].__setitem__("tokens", ["red", 3]), TypeError,
     r"tokens\[1\] must be a non-empty string"),
    (lambda d: d["vocabularies"][0].__setitem__("tokens", None), ValueError,
     r"vocabulary 'color': key 'tokens' is null, but the spec is marked fitted"),
    (lambda d: d["vocabularies"][0].__setitem__("min_count", 0), ValueError,
     r"vocabularies\[0\] \('color'\): key 'min_count' must be >= 1"),
    (lambda d: d["vocabularies"][0].pop("given"), ValueError,
     r"vocabularies\[0\]: missing key 'given'"),
    (lambda d: d["columns"][1]["state"].__setitem__("boundaries", [3.0, 2.0]), ValueError,
     r"columns\[1\] \('size'\): state key 'boundaries' must be strictly increasing"),
    (lambda d: d["columns"][1]["state"].__setitem__("boundaries", [1.0, float("nan")]),
     ValueError, r"columns\[1\] \('size'\): state key 'boundaries'\[1\] must be a finite"),
    (lambda d: d["columns"][1]["state"].__setitem__("boundaries", None), ValueError,
     r"column 'size': key 'state' lacks what fit learned"),
    (lambda d: d["columns"][2]["state"].__setitem__("std", 0.0), ValueError,
     r"columns\[2\] \('age'\): state key 'std' must be > 0"),
    (lambda d: d["columns"][2]["state"].__setitem__("mean", "x"), ValueError,
     r"columns\[2\] \('age'\): state key 'mean' must be a finite number"),
    (lambda d: d["columns"][2]["state"].__setitem__("colour", 1), ValueError,
     r"columns\[2\] \('age'\): key 'state': key 'colour' is unknown"),
    (lambda d: d["columns"][2]["state"].__setitem__("n_missing_at_fit", -1), ValueError,
     r"columns\[2\] \('age'\): state key 'n_missing_at_fit' must be an integer >= 0"),
    (lambda d: d["columns"][1]["state"].__setitem__("n_missing_at_fit", 1.5), ValueError,
     r"columns\[1\] \('size'\): state key 'n_missing_at_fit' must be an integer >= 0"),
    (lambda d: d["columns"][3]["config"].__setitem__("columns", ["color", "nope"]), ValueError,
     r"component 'nope' is not a column"),
]


@pytest.mark.parametrize("mutate, error, message", CASES)
def test_every_broken_key_is_named(saved, mutate, error, message):
    with pytest.raises(error, match=message):
        _load(saved, mutate)


def test_missing_counts_seen_at_fit_survive_saving():
    spec = FeatureSpec([NumericColumn("age", default=0.0),
                        BucketizedColumn("size", n_buckets=2, default=0.0)])
    spec.fit({"age": np.array([20.0, np.nan, np.inf, 50.0]),
              "size": np.array([1.0, 2.0, np.nan, 4.0])})
    loaded = FeatureSpec.from_dict(spec.to_dict())
    for name, expected in (("age", 2), ("size", 1)):       # nan and inf count as missing
        assert loaded.report()["columns"][name]["n_missing_at_fit"] == expected


def test_a_spec_saved_before_missing_counts_loads_with_zero(saved):
    old = copy.deepcopy(saved)
    for entry in old["columns"]:
        (entry.get("state") or {}).pop("n_missing_at_fit", None)
    assert FeatureSpec.from_dict(old).report()["columns"]["age"]["n_missing_at_fit"] == 0

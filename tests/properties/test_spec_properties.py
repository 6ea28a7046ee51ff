"""Random mutations of a serialized `FeatureSpec`: `from_dict` either raises a
ValueError/TypeError naming the place (column, vocabulary or key), or builds a spec that
transforms a batch into well-formed features (or names the column and row it cannot)."""
import copy
import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, HashedColumn, NumericColumn)
from property_helpers import PROPERTY_SETTINGS, assert_named_error

BATCH = {"color": np.array(["red", "blue", "green", "red"]),
         "city": np.array(["a", "b", "c", "a"]), "age": np.array([20.0, 30, 40, 50]),
         "hours": np.array([5.0, 20, 45, 30])}
SAVED = FeatureSpec([
    CategoricalColumn("color", embedding_dim=3), HashedColumn("city", 20),
    NumericColumn("age"), NumericColumn("q", source="age", normalization="quantile",
                                        n_quantiles=3),
    BucketizedColumn("hours", n_buckets=3),
    CrossedColumn(["color", "city"], hash_buckets=50)]).fit(BATCH).to_dict()

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=False),
              st.text(max_size=5), st.sampled_from(["red", "color", "categorical", "sum"])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4),
                                                                        children, max_size=2),
    max_leaves=5)
NAMED = (r"spec|columns\[\d+\]|vocabularies\[\d+\]|column '|vocabulary '|FeatureSpec|"
         r"crossed column|two columns|columns '")


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for k, value in enumerate(data):
            yield from _paths(value, prefix + (k,))


PATHS = [p for p in _paths(SAVED) if p]


def _mutate(data, path, action, value):
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    if action == "delete":
        if isinstance(target, dict):
            del target[last]
        else:
            target.pop(last)
    elif action == "replace":
        target[last] = value
    elif action == "add key" and isinstance(target[last], dict):
        target[last]["colour"] = value
    elif action == "reverse" and isinstance(target[last], list):
        target[last].reverse()
    elif action == "duplicate" and isinstance(target[last], list) and target[last]:
        target[last].append(target[last][0])


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS),
                          st.sampled_from(["delete", "replace", "add key", "reverse",
                                           "duplicate"]),
                          JSON_VALUES), min_size=1, max_size=3))
def test_mutated_spec_json_loads_or_names_the_problem(mutations):
    data = copy.deepcopy(SAVED)
    for path, action, value in mutations:
        try:
            _mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            pass                            # an earlier mutation removed the path
    data = json.loads(json.dumps(data))     # what a file holds
    try:
        spec = FeatureSpec.from_dict(data)
    except Exception as error:              # noqa: BLE001 - classified below
        assert_named_error(error, NAMED)
        return
    try:
        features = spec.transform(BATCH)
    except RuntimeError as error:           # n_rows_seen removed: an unfitted spec says so
        assert "the spec is not fitted" in str(error)
        return
    except Exception as error:              # noqa: BLE001 - classified below
        assert_named_error(error, r"column '|FeatureSpec\.transform|is missing from the batch")
        return
    for field, value in features.items():
        if hasattr(value, "validate"):
            size = spec.estimator_params()["wide_fields"].get(field)
            value.validate(size)
        else:
            assert np.all(np.isfinite(value))

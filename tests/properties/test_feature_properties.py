"""Random raw column batches with injected bad values through a fitted `FeatureSpec` and a
model: either every feature is well-formed (unseen values in the OOV bucket, ids in range,
values finite) and predictions are finite, or a ValueError/TypeError names the column and
a row of the batch."""
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from widedeep.features import (BucketizedColumn, CategoricalColumn, CrossedColumn,
                               FeatureSpec, HashedColumn, NumericColumn)
from widedeep.limits import limits
from widedeep.records import Ragged
from property_helpers import PROPERTY_SETTINGS, assert_named_error

N_ROWS = 6
BAD_VALUES = [None, "", float("nan"), float("inf"), -1e300, 1e300, 1e39, "x" * 80, "1e400",
              " 3 ", "abc", True, 2**70, 10**400, -7, {"a": 1}, b"\xff", ["nested"], 2.5]


def _spec():
    spec = FeatureSpec([
        CategoricalColumn("color", embedding_dim=3),
        HashedColumn("city", 20, embedding_dim=2),
        CategoricalColumn("apps", separator="|", wide=False, embedding_dim=2),
        NumericColumn("age", default=0.0),
        NumericColumn("income"),                       # no default: missing is an error
        BucketizedColumn("hours", boundaries=[10.0, 40.0], default=20.0),
        CrossedColumn(["color", "city"], hash_buckets=50)])
    good = {"color": np.array(["red", "blue", "green", "red"]),
            "city": np.array(["a", "b", "c", "a"]), "apps": np.array(["x|y", "y", "", "z"]),
            "age": np.array([20.0, 30, 40, 50]), "income": np.array([1.0, 2, 3, 4]),
            "hours": np.array([5.0, 20, 45, 30])}
    return spec.fit(good), good


SPEC, GOOD = _spec()


@pytest.fixture(scope="module")
def model():
    features = SPEC.transform({k: np.tile(v, 10) for k, v in GOOD.items()})
    y = np.tile([1.0, 0.0, 1.0, 0.0], 10)
    return SPEC.build_estimator(hidden_units=(4,), epochs=1, random_state=0).fit(features, y)


def _column(name, cells):
    if name == "apps" and any(isinstance(c, list) for c in cells):
        return Ragged.from_lists([c if isinstance(c, list) else [c] for c in cells])
    column = np.empty(len(cells), dtype=object)
    column[:] = cells
    return column


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(st.sampled_from(sorted(GOOD)), st.integers(0, N_ROWS - 1),
                          st.sampled_from(BAD_VALUES)), max_size=4),
       st.booleans())
def test_bad_values_give_well_formed_features_or_a_named_error(model, injections, typed):
    cells = {name: [values[k % 4].item() for k in range(N_ROWS)]
             for name, values in GOOD.items()}
    for name, row, value in injections:
        cells[name][row] = value
    batch = {name: (np.asarray(column) if typed and not injections else _column(name, column))
             for name, column in cells.items()}
    try:
        with limits(max_token_chars=64):
            features = SPEC.transform(batch)
    except Exception as error:              # noqa: BLE001 - classified below
        assert_named_error(error, r"column '(\w+)'.* row (\d+)")
        column, row = re.search(r"column '(\w+)'.* row (\d+)", str(error)).groups()
        assert int(row) < N_ROWS
        assert any(column == name or column in ("color_x_city",) for name, _, _ in injections)
        return
    sizes = SPEC.estimator_params()["wide_fields"]
    for field, value in features.items():
        if field in sizes:
            value.validate(sizes[field])      # ids in range, rows sorted, values finite
        elif hasattr(value, "validate"):
            value.validate()
        else:
            assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(model.predict_logit(features)))


CORRUPTIONS = ["negative id", "id too large", "unsorted", "nan value", "inf value",
               "row out of range", "dense nan", "dense strings", "dense shape", "missing",
               "n_examples", "float ids", "none"]


def _corrupt(features, field, corruption):
    features = dict(features)
    if field not in features:
        return features
    x = features[field]
    if corruption == "missing":
        del features[field]
        return features
    if not hasattr(x, "feature_ids"):
        if corruption == "dense nan":
            x = x.copy()
            x[1, 0] = np.nan
        elif corruption == "dense strings":
            x = x.astype(str)
        elif corruption == "dense shape":
            x = x[:, :1] if x.shape[1] > 1 else np.hstack([x, x])
        features[field] = x
        return features
    from widedeep import SparseInput
    ids, rows, values = x.feature_ids.copy(), x.example_indices.copy(), x.feature_values.copy()
    n = x.n_examples
    if x.nnz == 0:
        return features
    if corruption == "negative id":
        ids[-1] = -1
    elif corruption == "id too large":
        ids[0] = 10**6
    elif corruption == "unsorted":
        rows = rows[::-1].copy()
    elif corruption == "nan value":
        values[0] = np.nan
    elif corruption == "inf value":
        values[-1] = np.inf
    elif corruption == "row out of range":
        rows[-1] = n + 3
    elif corruption == "n_examples":
        n += 1
    elif corruption == "float ids":
        ids = ids + 0.5
    try:
        features[field] = SparseInput(rows, ids, values, n_examples=n, field=field,
                                      validate=False)
    except (TypeError, ValueError) as error:   # the constructor refuses float ids itself
        assert_named_error(error, f"field '{field}'")
        return None
    return features


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["color", "city", "apps", "hours", "color_x_city",
                                           "numeric"]),
                          st.sampled_from(CORRUPTIONS)), min_size=1, max_size=3))
def test_corrupted_feature_dicts_are_refused_naming_the_field(model, corruptions):
    features = SPEC.transform(GOOD)
    for field, corruption in corruptions:
        features = _corrupt(features, field, corruption)
        if features is None:
            return
    before = model.get_state(copy=True)
    try:
        logits = model.predict_logit(features)
    except Exception as error:              # noqa: BLE001 - classified below
        fields = "|".join(re.escape(field) for field, _ in corruptions)
        assert_named_error(error, f"'({fields})'")
    else:
        assert np.all(np.isfinite(logits))
    try:
        model.partial_fit(features, np.ones(4))
    except Exception as error:              # noqa: BLE001 - classified below
        assert isinstance(error, (ValueError, TypeError)), repr(error)
        after = model.get_state()
        assert all(np.array_equal(before[k], after[k], equal_nan=True) for k in before)

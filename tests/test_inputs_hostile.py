"""`SparseInput` never converts bad ids silently, and the estimators check every sparse
field they read, so ``validate=False`` cannot smuggle bad data into a model."""
import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator, WideEstimator


def test_float_ids_are_refused_not_truncated():
    with pytest.raises(TypeError, match=r"field 'f': feature_ids must be integers; "
                                        r"feature_ids\[0\] is 1.7"):
        SparseInput([0, 1], [1.7, 1.0], n_examples=2, field="f")
    assert SparseInput([0, 1], [2.0, 1.0], n_examples=2).feature_ids.tolist() == [2, 1]


def test_string_and_huge_ids_name_the_field():
    with pytest.raises(TypeError, match=r"field 'f': feature_ids must be integers, got dtype "
                                        r"<U1 \(e.g. 'a'\)"):
        SparseInput([0, 1], ["a", "b"], n_examples=2, field="f")
    with pytest.raises(ValueError, match=r"field 'f': feature_ids\[0\] = 18446744073709551615 "
                                         r"does not fit in int64"):
        SparseInput([0, 1], np.array([2**64 - 1, 1], dtype=np.uint64), n_examples=2, field="f")
    with pytest.raises(ValueError, match=r"field 'f': feature_ids\[1\] = 1180591620717411303424 "
                                         r"does not fit"):
        SparseInput([0, 1], [1, 2**70], n_examples=2, field="f")
    with pytest.raises(TypeError, match=r"field 'f': example_indices must be integers"):
        SparseInput(["x"], [1], n_examples=1, field="f")


def test_non_numeric_values_name_the_field():
    with pytest.raises(TypeError, match=r"field 'f': feature_values must be numbers"):
        SparseInput([0], [1], ["heavy"], n_examples=1, field="f")


def test_values_that_overflow_the_dtype_are_refused():
    with pytest.raises(ValueError, match=r"field 'f': non-finite feature value inf"):
        SparseInput([0], [1], [1e39], n_examples=1, field="f")


@pytest.fixture(scope="module")
def models():
    X = {"f": SparseInput.from_ids(np.arange(40) % 5)}
    y = (np.arange(40) % 2).astype(float)
    wide = WideEstimator({"f": 5}, random_state=0).fit(X, y)
    joint = WideDeepEstimator({"f": 5}, vocabularies={"f": (5, 2)}, embedding_fields={"f": "f"},
                              hidden_units=(4,), random_state=0).fit(X, y)
    return wide, joint


UNCHECKED = [
    (lambda: SparseInput([0, 1], [0, -1], n_examples=2, validate=False), "negative feature id"),
    (lambda: SparseInput([1, 0], [0, 1], n_examples=2, validate=False), "must be sorted"),
    (lambda: SparseInput([0, 2], [0, 1], n_examples=2, validate=False), "outside \\[0, 2\\)"),
    (lambda: SparseInput([0, 1], [0, 1], [np.nan, 1.0], n_examples=2, validate=False),
     "non-finite feature value"),
    (lambda: SparseInput([0, 1], [0, 9], n_examples=2, validate=False), "out of range"),
]


@pytest.mark.parametrize("make, message", UNCHECKED)
def test_the_estimators_check_what_validate_false_skipped(models, make, message):
    for model in models:
        before = model.get_state(copy=True)
        for call in (lambda: model.predict_logit({"f": make()}),
                     lambda: model.partial_fit({"f": make()}, np.array([0.0, 1.0]))):
            with pytest.raises(ValueError, match=f"field 'f': .*{message}"):
                call()
        after = model.get_state()
        assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.fixture(scope="module")
def three_field_model():
    """Every field one-hot, wide and embedded, the vocabularies in one block: predict takes
    the one-gather paths, whose value checks run on the concatenated ids and values."""
    rng = np.random.default_rng(3)
    X = {f: SparseInput.from_ids(rng.integers(0, 6, 60), field=f) for f in "abc"}
    y = rng.integers(0, 2, 60).astype(float)
    model = WideDeepEstimator({f: 6 for f in "abc"}, vocabularies={f: (6, 3) for f in "abc"},
                              embedding_fields={f: f for f in "abc"}, hidden_units=(4,),
                              epochs=2, random_state=0).fit(X, y)
    return model, X


@pytest.mark.parametrize("field, make, message", [
    ("b", lambda x: SparseInput(x.example_indices, np.where(np.arange(60) == 7, 6,
                                                             x.feature_ids),
                                n_examples=60, validate=False), "out of range"),
    ("c", lambda x: SparseInput(x.example_indices, np.where(np.arange(60) == 0, -1,
                                                             x.feature_ids),
                                n_examples=60, validate=False), "negative feature id"),
    ("a", lambda x: SparseInput(x.example_indices, x.feature_ids,
                                np.where(np.arange(60) == 59, np.nan, 1.0),
                                n_examples=60, validate=False), "non-finite feature value"),
])
def test_predict_checks_every_one_hot_field_in_its_gather(three_field_model, field, make,
                                                           message):
    model, X = three_field_model
    bad = dict(X, **{field: make(X[field])})
    expected = None
    try:
        bad[field].validate(6, field=field)
    except ValueError as error:
        expected = str(error)
    assert expected is not None and message in expected
    before = model.get_state(copy=True)
    for call in (model.predict_proba, model.predict_logit):
        with pytest.raises(ValueError) as raised:
            call(bad)
        assert str(raised.value) == expected   # the field's own message, naming it
    after = model.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_predict_of_valid_fields_matches_the_checked_forward(three_field_model):
    model, X = three_field_model
    expected = model.wide_.forward(X)[0] + model.deep_.forward(X, checked=True)[0]
    np.testing.assert_array_equal(model.predict_logit(X), expected)

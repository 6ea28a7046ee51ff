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

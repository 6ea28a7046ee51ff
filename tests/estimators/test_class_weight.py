"""class_weight: the same model as the equivalent explicit sample weights."""
import numpy as np
import pytest

from widedeep import WideEstimator
from widedeep.estimators.batching import slice_rows

from estimator_world import model_params


def wide(world, **kw):
    kw.setdefault("random_state", 0)
    kw.setdefault("early_stopping", False)
    kw.setdefault("epochs", 2)
    return WideEstimator(model_params(world)["wide_fields"], **kw)


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


def assert_same_state(a, b):
    sa, sb = a.get_state(), b.get_state()
    for key in sa:
        np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)


def test_dict_class_weight_equals_explicit_sample_weights(world, small_data):
    (X, y), _ = small_data
    X = wide_X(X)
    sw = np.linspace(0.5, 1.5, 2000)
    weighted = wide(world, class_weight={0: 0.5, 1: 3.0}).fit(X, y, sample_weight=sw)
    explicit = wide(world).fit(X, y, sample_weight=sw * np.where(y == 1, 3.0, 0.5))
    assert_same_state(weighted, explicit)


def test_balanced_gives_each_class_n_over_k_n_c(world, small_data):
    (X, y), _ = small_data
    X = wide_X(X)
    n_pos = y.sum()
    n_neg = y.shape[0] - n_pos
    balanced = wide(world, class_weight="balanced").fit(X, y)
    explicit = wide(world).fit(X, y, sample_weight=np.where(y == 1, 2000 / (2 * n_pos),
                                                            2000 / (2 * n_neg)))
    assert_same_state(balanced, explicit)


def test_dict_class_weight_applies_to_every_batch_of_a_stream(world, small_data):
    (X, y), _ = small_data
    X = wide_X(X)
    batches = [(slice_rows(X, s, s + 250), y[s:s + 250]) for s in range(0, 2000, 250)]
    weighted = wide(world, class_weight={1: 2.0}).fit(batches)
    explicit = wide(world).fit([(f, yb, np.where(yb == 1, 2.0, 1.0)) for f, yb in batches])
    assert_same_state(weighted, explicit)


@pytest.mark.parametrize("class_weight, message", [
    ("auto", "class_weight must be 'balanced', a dict"),
    ({2: 1.0}, "class_weight: class 2 is not one of 0 .. 1"),
    ({1: -1.0}, r"class_weight\[1\] must be a finite number >= 0"),
    ([1.0, 2.0], "class_weight must be 'balanced', a dict"),
])
def test_bad_class_weight_raises_naming_it(world, small_data, class_weight, message):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match=message):
        wide(world, class_weight=class_weight).fit(wide_X(X), y)


def test_balanced_is_refused_for_a_stream(world, small_data):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match="'balanced' needs the class counts"):
        wide(world, class_weight="balanced").fit([(wide_X(X), y)])


def test_partial_fit_folds_a_dict_class_weight_and_refuses_balanced(world, small_data):
    (X, y), _ = small_data
    X = wide_X(X)
    weighted = wide(world, class_weight={0: 0.25}).partial_fit(X, y)
    explicit = wide(world).partial_fit(X, y, sample_weight=np.where(y == 0, 0.25, 1.0))
    assert_same_state(weighted, explicit)
    with pytest.raises(ValueError, match="'balanced' needs the class counts"):
        wide(world, class_weight="balanced").partial_fit(X, y)

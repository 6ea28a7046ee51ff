"""One step from a known state, checked against the float64 reference of `step_reference`:
every parameter and accumulator, with sample weights and the 1/n batch mean."""
import numpy as np
import pytest

from step_reference import batch, expected_step, make

KINDS = ["wide", "deep", "wide_deep"]
OBJECTIVES = ["binary", "regression", "multiclass"]


def trained(kind, objective):
    model = make(kind, objective)
    features, y, sw = batch(0, objective=objective)
    model.partial_fit(features, y, sw)      # a non-trivial known state (accumulators > init)
    return model


def assert_state_equal(actual, expected):
    assert set(actual) == set(expected)
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key].reshape(actual[key].shape),
                                   rtol=1e-10, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("kind", KINDS)
def test_one_step_equals_the_equations(kind, objective):
    model = trained(kind, objective)
    before = model.get_state(copy=True)
    features, y, sw = batch(1, objective=objective)
    model.partial_fit(features, y, sw)
    assert_state_equal(model.get_state(), expected_step(before, kind, features, y, sw,
                                                        objective))


@pytest.mark.parametrize("change", ["no_mean", "no_weight"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_reference_detects_a_missing_mean_or_weight(kind, change):
    """The check above can fail: without the 1/n or the weights the reference differs."""
    model = trained(kind, "binary")
    before = model.get_state(copy=True)
    features, y, sw = batch(1)
    model.partial_fit(features, y, sw)
    wrong = expected_step(before, kind, features, y, sw, "binary",
                          scale_by_n=change != "no_mean", use_weight=change != "no_weight")
    with pytest.raises(AssertionError):
        assert_state_equal(model.get_state(), wrong)

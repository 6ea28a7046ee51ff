"""ftrl_per_field: a field's own FTRL settings inside the one vectorized wide step."""
import json

import numpy as np
import pytest

from widedeep import FtrlProximal, WideEstimator
from widedeep.io import estimator_from_config

from estimator_world import model_params


def wide(world, **kw):
    kw.setdefault("random_state", 0)
    kw.setdefault("early_stopping", False)
    kw.setdefault("epochs", 2)
    return WideEstimator(model_params(world)["wide_fields"], **kw)


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


def test_a_strong_l1_on_the_cross_zeroes_it_and_leaves_the_other_fields_as_before(world,
                                                                                   small_data):
    (X, y), _ = small_data
    base = FtrlProximal(alpha=0.2)
    plain = wide(world, ftrl=base).fit(wide_X(X), y)
    sparse = wide(world, ftrl=base, ftrl_per_field={"group_x_item": {"l1": 1e6}}).fit(
        wide_X(X), y)
    assert np.count_nonzero(plain.wide_.params["group_x_item"]) > 0
    assert np.count_nonzero(sparse.wide_.params["group_x_item"]) == 0
    # the cross's z and n still accumulate; only its weights are held at 0
    np.testing.assert_array_equal(sparse.wide_.ftrl_state["group_x_item"]["n"] > 0,
                                  plain.wide_.ftrl_state["group_x_item"]["n"] > 0)


def test_one_field_with_its_own_alpha_equals_the_per_field_reference(world, small_data):
    (X, y), _ = small_data
    X = {"user": X["user"], "item": X["item"]}
    fields = {"user": 300, "item": 60}
    base, item = FtrlProximal(alpha=0.2, l1=0.01), FtrlProximal(alpha=0.5, l1=0.01)
    model = WideEstimator(fields, ftrl=base, ftrl_per_field={"item": {"alpha": 0.5}},
                          fit_intercept=False, epochs=1, shuffle=False, batch_size=2000,
                          early_stopping=False, dtype=np.float64).fit(X, y)
    # by hand: one full-batch step from zero weights, p = 0.5 everywhere, g = (p - y) / n
    g = (0.5 - y) / y.shape[0]
    for field, opt in (("user", base), ("item", item)):
        ids = X[field].feature_ids
        grad = np.bincount(ids, weights=g, minlength=fields[field])
        w, state = np.zeros(fields[field]), opt.init_state(np.zeros(fields[field]))
        opt.update(w, grad, state)
        np.testing.assert_allclose(model.wide_.params[field], w, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("per_field, message", [
    ({"movie": {"l1": 1.0}}, "ftrl_per_field: 'movie' is not a wide field"),
    ({"user": {"lambda": 1.0}}, r"ftrl_per_field\['user'\] must be a dict with keys among"),
    ({"user": {"l1": -1.0}}, r"ftrl_per_field\['user'\]: FtrlProximal: l1 must be"),
    ([("user", {})], "ftrl_per_field must be a dict"),
])
def test_bad_per_field_settings_raise_naming_the_parameter(world, small_data, per_field,
                                                           message):
    (X, y), _ = small_data
    with pytest.raises(ValueError, match=message):
        wide(world, ftrl_per_field=per_field).fit(wide_X(X), y)


def test_per_field_settings_are_saved_in_the_config(world):
    model = wide(world, ftrl_per_field={"group_x_item": {"l1": 0.5, "alpha": 0.1}})
    config = json.loads(json.dumps(model.get_config()))
    assert estimator_from_config(config).ftrl_per_field == {
        "group_x_item": {"l1": 0.5, "alpha": 0.1}}

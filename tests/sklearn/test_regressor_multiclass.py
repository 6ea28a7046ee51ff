"""The core objectives through scikit-learn: WideDeepRegressor ("regression") and
WideDeepClassifier on more than two classes ("multiclass")."""
import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402

from widedeep.sklearn._base import core_objectives  # noqa: E402
from widedeep.sklearn import WideDeepClassifier, WideDeepRegressor  # noqa: E402
from widedeep import Adagrad  # noqa: E402

# These tests were written with AdaGrad lr 0.1 (the default before the defaults protocol chose
# 0.05); with 0.05 this unscaled price target (60..560) is still undertrained after 40 epochs.
PINNED = {"adagrad": Adagrad(lr=0.1)}

if "regression" not in core_objectives():
    pytest.skip("the core estimators train only the binary objective here (issue 8's "
                "objectives not merged)", allow_module_level=True)


def _frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "oslo", "rome"], n)
    size = rng.uniform(20, 120, n)
    price = 3.0 * size + np.select([city == "paris", city == "oslo"], [200.0, 100.0], 0.0)
    return pd.DataFrame({"city": city, "size": size}), price + rng.normal(0, 5, n)


def test_regressor_fits_a_dataframe():
    X, y = _frame()
    reg = WideDeepRegressor(hidden_units=(16,), epochs=40, random_state=0,
                            **PINNED).fit(X, y)
    assert reg.estimator_.objective == "regression"
    prediction = reg.predict(X)
    assert prediction.shape == (600,) and prediction.dtype == np.float64
    assert reg.score(X, y) == pytest.approx(r2_score(y, prediction))
    assert reg.score(X, y) > 0.9
    assert not hasattr(reg, "predict_proba") and not hasattr(reg, "classes_")


def test_regressor_in_cross_val_score():
    X, y = _frame()
    scores = cross_val_score(WideDeepRegressor(hidden_units=(16,), epochs=40, random_state=0,
                                               **PINNED),
                             X, y, cv=3, scoring="r2")
    assert scores.mean() > 0.85


def test_three_string_classes():
    X, y = _frame()
    label = np.where(y > 300, "high", np.where(y > 200, "mid", "low"))
    clf = WideDeepClassifier(hidden_units=(16,), epochs=20, random_state=0).fit(X, label)
    assert clf.estimator_.objective == "multiclass" and clf.estimator_.n_classes == 3
    assert clf.classes_.tolist() == ["high", "low", "mid"]
    proba = clf.predict_proba(X)
    assert proba.shape == (600, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.decision_function(X).shape == (600, 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, label) > 0.8
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)

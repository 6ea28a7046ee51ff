"""scikit-learn's own estimator checks on numeric arrays. Checks that cannot pass are
listed (with the reason) in EXPECTED_FAILURES, which the README repeats."""
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pandas")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from widedeep.sklearn._base import core_objectives  # noqa: E402
from widedeep.sklearn import (EXPECTED_FAILED_CHECKS, WideDeepClassifier,  # noqa: E402
                              WideDeepRegressor)

# the regressor and >2 classes need the core objectives of issue 8 ("regression",
# "multiclass"); without them only the binary classifier is checked
OBJECTIVES = "regression" in core_objectives()


def _expected(estimator):
    expected = dict(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))
    if estimator.model == "wide":       # no matrix products: row results never depend on
        expected.pop("check_methods_subset_invariance", None)   # the block height
    return expected


@parametrize_with_checks([WideDeepClassifier(random_state=0),
                          WideDeepClassifier(model="wide", random_state=0),
                          WideDeepClassifier(model="deep", random_state=0)]
                         + ([WideDeepRegressor(random_state=0),
                             WideDeepRegressor(model="wide", random_state=0)]
                            if OBJECTIVES else []),
                         expected_failed_checks=_expected)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)

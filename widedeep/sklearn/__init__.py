"""Wide & Deep for scikit-learn: `WideDeepClassifier` and `WideDeepRegressor` (extra
``widedeep[sklearn]``: scikit-learn >= 1.6, pandas).

>>> from widedeep.sklearn import WideDeepClassifier   # doctest: +SKIP
>>> cross_val_score(WideDeepClassifier(), frame, y, scoring="roc_auc")   # doctest: +SKIP

See `widedeep.sklearn._base` for how they relate to the core estimators.
"""
try:
    import sklearn  # noqa: F401
except ImportError as error:   # pragma: no cover - depends on the environment
    raise ImportError("widedeep.sklearn needs scikit-learn >= 1.6: pip install "
                      "'widedeep[sklearn]'") from error

from .classifier import WideDeepClassifier
from .regressor import WideDeepRegressor

__all__ = ["WideDeepClassifier", "WideDeepRegressor", "EXPECTED_FAILED_CHECKS"]

# scikit-learn estimator checks these classes cannot pass, and why (also in the README)
_SHARED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data":
        "mini-batch training: a row of weight 2 is one gradient term in one batch, a "
        "repeated row is two terms that can fall in two batches and change the order of "
        "updates, so the fitted models differ (as for SGDClassifier)",
    "check_methods_subset_invariance":
        "float32 matrix products round differently for blocks of different heights "
        "(about 1e-7 relative), above the check's rtol=1e-7; scores agree to float32 "
        "precision",
}
EXPECTED_FAILED_CHECKS = {"WideDeepClassifier": dict(_SHARED_FAILURES),
                          "WideDeepRegressor": dict(_SHARED_FAILURES)}

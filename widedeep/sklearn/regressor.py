"""`WideDeepRegressor`: Wide & Deep as a scikit-learn regressor."""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ._base import WideDeepBase, core_objectives

__all__ = ["WideDeepRegressor"]


class WideDeepRegressor(RegressorMixin, WideDeepBase):
    """Wide & Deep (or wide-only / deep-only) regressor for scikit-learn: the core
    estimator's "regression" objective (squared error, identity link; the output starts at
    the label mean). Parameters and attributes as `WideDeepClassifier`, without
    ``classes_``; ``score`` is R^2.

    Examples
    --------
    >>> import numpy as np
    >>> from widedeep.sklearn._base import core_objectives
    >>> X = np.linspace(0, 1, 200)[:, None]
    >>> reg = WideDeepRegressor(hidden_units=(16,), epochs=30, random_state=0)
    >>> if "regression" in core_objectives():
    ...     assert reg.fit(X, 3 * X[:, 0] + 1).score(X, 3 * X[:, 0] + 1) > 0.9
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the feature spec on ``X``, then the model on (``X``, ``y``); returns self."""
        if "regression" not in core_objectives():
            raise ValueError(f"{type(self).__name__} needs the core estimators' regression "
                             f"objective, which this build does not have")
        columns, y, sample_weight = self._check_fit_input(X, y, sample_weight)
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity: a regression target must "
                             "be finite")
        return self._fit_core(columns, y, sample_weight, {"objective": "regression"})

    def predict(self, X):
        """Predicted values, float64 [n]."""
        return self._raw_output(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = False
        return tags

"""`WideDeepClassifier`: Wide & Deep as a scikit-learn classifier."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from scipy.special import logsumexp, softmax

from ..losses import sigmoid
from ._base import WideDeepBase, core_objectives

__all__ = ["WideDeepClassifier"]


class WideDeepClassifier(ClassifierMixin, WideDeepBase):
    """Wide & Deep (or wide-only / deep-only) classifier for scikit-learn (two classes:
    the core's "binary" objective; more: its "multiclass" softmax objective).

    Parameters
    ----------
    columns : "auto", FeatureSpec or list of feature columns
        The feature declarations (`CategoricalColumn`, `NumericColumn`, `CrossedColumn`,
        ...), fitted on ``X`` in ``fit``; ``"auto"`` infers one column per input column
        from its dtype (`widedeep.features.infer`; no crosses).
    model : {"wide_deep", "wide", "deep"}
        Which core estimator: `WideDeepEstimator`, `WideEstimator` (logistic regression by
        FTRL) or `DeepEstimator`.
    hidden_units, dropout, ftrl, adagrad, embedding_l2, dense_l2, batch_size, epochs,
    random_state, verbose
        Passed to the core estimator; ``None`` keeps the core's default. ``ftrl`` and
        ``adagrad`` are optimizer objects, tunable as ``ftrl__alpha``, ``adagrad__lr``.
    embedding_dim : int
        Embedding width of the categorical columns inferred by ``columns="auto"``.
    n_threads : int, optional
        BLAS threads during fit / predict (`widedeep.threads`; default 1).

    Attributes
    ----------
    classes_ : array [n_classes]
        The class labels (any values: strings, {-1, 1}, ...), sorted; with two classes
        ``classes_[1]`` is the positive class.
    spec_ : FeatureSpec, estimator_ : the fitted core estimator
    n_features_in_, feature_names_in_ (for DataFrames)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2))]
    >>> y = np.array(["no"] * 20 + ["yes"] * 20)
    >>> clf = WideDeepClassifier(hidden_units=(8,), epochs=20, random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict([[1.0, 1.0]]).tolist()
    (['no', 'yes'], ['yes'])
    >>> clf.predict_proba([[0.0, 0.0]]).shape
    (1, 2)
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the feature spec on ``X``, then the model on (``X``, ``y``); returns self.

        Two classes train the core estimator's "binary" objective; more train its
        "multiclass" objective (softmax over ``len(classes_)`` outputs)."""
        columns, y, sample_weight = self._check_fit_input(X, y, sample_weight)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} needs class labels (binary or "
                             f"multiclass); the type of the target is {y_type}.")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        n_classes = encoder.classes_.shape[0]
        if n_classes > 2 and "multiclass" not in core_objectives():
            raise ValueError(f"Only binary classification is supported. The type of the "
                             f"target is {y_type} (the core estimators of this build have "
                             f"no multiclass objective).")
        if n_classes < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; y "
                             f"has only one class: {encoder.classes_.tolist()}")
        objective = {} if n_classes == 2 else {"objective": "multiclass",
                                               "n_classes": n_classes}
        codes = encoder.transform(y)
        self._fit_core(columns, codes.astype(np.float64 if n_classes == 2 else np.int64),
                       sample_weight, objective)
        self.classes_ = encoder.classes_
        return self

    def decision_function(self, X):
        """The model's logits: float64 [n] (two classes: the positive class's logit) or
        [n, n_classes]."""
        return self._raw_output(X)

    def predict_proba(self, X):
        """Class probabilities, float64 [n, n_classes] in the order of ``classes_``."""
        logits = self.decision_function(X)
        if logits.ndim == 2:
            return softmax(logits, axis=1)
        p = sigmoid(logits)
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X):
        logits = self.decision_function(X)
        if logits.ndim == 2:
            return logits - logsumexp(logits, axis=1, keepdims=True)
        # log sigmoid(f) = -softplus(-f), computed stably
        return np.column_stack([-np.logaddexp(0, logits), -np.logaddexp(0, -logits)])

    def predict(self, X):
        """The most probable class of each row (values of ``classes_``)."""
        logits = self.decision_function(X)
        index = np.argmax(logits, axis=1) if logits.ndim == 2 else (logits > 0)
        return self.classes_[index.astype(np.int64)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = "multiclass" in core_objectives()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = False
        return tags

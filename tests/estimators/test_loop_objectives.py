"""The loop features with the regression and multiclass objectives."""
import numpy as np
import pytest

from widedeep import SparseInput, WideEstimator
from widedeep.estimators.holdout import holdout_rows


def data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 20, n)
    X = {"c": SparseInput.from_ids(ids, vocab_size=20)}
    return X, ids, rng


def test_regression_auto_early_stopping_watches_rmse_on_a_random_holdout():
    X, ids, rng = data()
    y = ids * 0.5 + rng.normal(size=ids.shape[0])
    model = WideEstimator({"c": 20}, objective="regression", epochs=4,
                          random_state=0).fit(X, y)
    record = model.history_[0]
    assert {"train_mse", "validation_rmse", "validation_mae"} <= set(record)
    assert record["examples"] == 2700
    rmses = [h["validation_rmse"] for h in model.history_]
    assert model.best_epoch_ == int(np.argmin(rmses)) + 1


def test_regression_refuses_class_weight_and_classification_metrics():
    X, ids, _ = data()
    y = ids * 1.0
    with pytest.raises(ValueError, match="class_weight is for classification"):
        WideEstimator({"c": 20}, objective="regression", class_weight="balanced").fit(X, y)
    with pytest.raises(ValueError, match=r"eval_metric must be one of \['mae', 'rmse'\]"):
        WideEstimator({"c": 20}, objective="regression", eval_metric="auc").fit(X, y)


def test_multiclass_balanced_class_weight_equals_explicit_weights():
    X, ids, _ = data()
    y = (ids % 3).astype(float)
    y[:200] = 0                                     # unbalanced classes
    counts = np.bincount(y.astype(int))
    kw = dict(objective="multiclass", n_classes=3, epochs=2, early_stopping=False,
              random_state=0)
    a = WideEstimator({"c": 20}, class_weight="balanced", **kw).fit(X, y)
    b = WideEstimator({"c": 20}, **kw).fit(X, y, sample_weight=(3000 / (3 * counts))[y.astype(int)])
    for key, value in a.get_state().items():
        np.testing.assert_array_equal(value, b.get_state()[key], err_msg=key)


def test_multiclass_holdout_is_stratified_per_class():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    _, held = holdout_rows(y, 0.1, seed=[0, 3], stratify=True)
    assert np.bincount(y[held]).tolist() == [5, 3, 2]

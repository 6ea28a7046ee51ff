"""WideDeepClassifier inside scikit-learn: DataFrames, Pipeline, cross_val_score with
roc_auc, GridSearchCV over nested optimizer parameters, clone, arbitrary labels."""
import numpy as np
import pytest

pd = pytest.importorskip("pandas")
sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402

from widedeep.features import CategoricalColumn, CrossedColumn, NumericColumn  # noqa: E402
from widedeep.optim import FtrlProximal  # noqa: E402
from widedeep.sklearn import WideDeepClassifier  # noqa: E402


def _frame(n=600, seed=0):
    """Clicks driven by a (country, app) pair rule plus a numeric effect."""
    rng = np.random.default_rng(seed)
    country = rng.choice(["us", "de", "fr", "jp"], n)
    app = rng.choice(["mail", "maps", "chess", "news"], n)
    age = rng.normal(40, 10, n)
    logit = 4.0 * ((country == "de") & (app == "chess")) - 3.0 * (app == "mail") \
        + 0.1 * (age - 40)
    clicked = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({"country": country, "app": app, "age": age})
    frame.attrs["true_logit"] = logit        # for the Bayes-optimal AUC of this sample
    return frame, clicked.astype(int)


def test_dataframe_auto_columns_fit_predict_shapes():
    X, y = _frame()
    clf = WideDeepClassifier(hidden_units=(16,), epochs=5, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (600, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-clf.decision_function(X))))
    assert clf.classes_.tolist() == [0, 1]
    assert clf.n_features_in_ == 3 and clf.feature_names_in_.tolist() == ["country", "app",
                                                                          "age"]
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)
    oracle = roc_auc_score(y, X.attrs["true_logit"])
    assert roc_auc_score(y, proba[:, 1]) > oracle - 0.03


@pytest.mark.parametrize("labels", [["no", "yes"], [-1, 1], [False, True]])
def test_arbitrary_labels_are_mapped_back(labels):
    X, y = _frame()
    mapped = np.asarray(labels)[y]
    clf = WideDeepClassifier(hidden_units=(8,), epochs=3, random_state=0).fit(X, mapped)
    assert clf.classes_.tolist() == sorted(labels)
    predicted = clf.predict(X)
    assert set(predicted.tolist()) <= set(labels)
    reference = WideDeepClassifier(hidden_units=(8,), epochs=3, random_state=0).fit(X, y)
    # the same model: only the names of the classes differ
    np.testing.assert_array_equal(predicted, np.asarray(sorted(labels))[
        reference.predict(X)])


def test_declared_columns_with_a_cross_are_not_modified_by_fit():
    X, y = _frame()
    columns = [CategoricalColumn("country", embedding_dim=4),
               CategoricalColumn("app", embedding_dim=4), NumericColumn("age"),
               CrossedColumn(["country", "app"], hash_buckets=64)]
    clf = WideDeepClassifier(columns=columns, hidden_units=(8,), epochs=5, random_state=0)
    clf.fit(X, y)
    assert columns[0].vocabulary.tokens_ is None            # the caller's objects untouched
    assert "country_x_app" in clf.estimator_.wide_fields
    assert sorted(clf.spec_.vocabulary_tokens("country")[1:]) == ["de", "fr", "jp", "us"]


def test_dict_of_columns_is_accepted():
    X, y = _frame()
    columns = {name: X[name].to_numpy() for name in X.columns}
    clf = WideDeepClassifier(hidden_units=(8,), epochs=2, random_state=0).fit(columns, y)
    from_frame = WideDeepClassifier(hidden_units=(8,), epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(columns), from_frame.predict_proba(X))


def test_cross_val_score_roc_auc_on_a_dataframe():
    X, y = _frame()
    scores = cross_val_score(WideDeepClassifier(hidden_units=(16,), epochs=15, random_state=0),
                             X, y, cv=3, scoring="roc_auc")
    oracle = roc_auc_score(y, X.attrs["true_logit"])
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert scores.mean() > oracle - 0.06            # 400 training rows per fold


def test_pipeline_with_a_scaler_on_numeric_arrays():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3)) * [1, 100, 0.01]
    y = (X[:, 0] + X[:, 1] / 100 > 0).astype(int)
    pipe = make_pipeline(StandardScaler(), WideDeepClassifier(hidden_units=(8,), epochs=10,
                                                               random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9


def test_pipeline_step_that_outputs_a_dataframe():
    X, y = _frame()
    add_feature = FunctionTransformer(lambda f: f.assign(old=f["age"] > 50))
    pipe = make_pipeline(add_feature, WideDeepClassifier(hidden_units=(8,), epochs=2,
                                                         random_state=0))
    pipe.fit(X, y)
    assert pipe[-1].feature_names_in_.tolist() == ["country", "app", "age", "old"]


def test_nested_optimizer_parameters_and_grid_search():
    X, y = _frame()
    clf = WideDeepClassifier(hidden_units=(8,), epochs=3, random_state=0)
    clf.set_params(ftrl__alpha=0.2, adagrad__lr=0.05)
    assert clf.ftrl.alpha == 0.2 and clf.adagrad.lr == 0.05
    assert clf.get_params()["ftrl__alpha"] == 0.2
    given = FtrlProximal(alpha=0.1)
    clf.set_params(ftrl=given).set_params(ftrl__l1=0.5)
    assert given.l1 != 0.5 and clf.ftrl.l1 == 0.5 and clf.ftrl.alpha == 0.1
    with pytest.raises(ValueError, match="no parameter 'gamma'"):
        clf.set_params(ftrl__gamma=1)

    search = GridSearchCV(WideDeepClassifier(model="wide", epochs=3, random_state=0),
                          {"ftrl__l1": [100.0, 0.0]}, scoring="roc_auc", cv=3).fit(X, y)
    # L1 = 100 keeps every weight at 0 (AUC 0.5): a search that works picks L1 = 0
    assert search.best_params_ == {"ftrl__l1": 0.0}
    means = search.cv_results_["mean_test_score"]
    assert means[0] == 0.5 and means[1] > 0.7


def test_clone_gives_an_unfitted_copy_with_equal_parameters():
    X, y = _frame()
    clf = WideDeepClassifier(hidden_units=(8,), epochs=2, random_state=0)
    clf.set_params(ftrl__alpha=0.3)
    clf.fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "estimator_")
    assert copy.ftrl is not clf.ftrl and copy.ftrl.alpha == 0.3
    np.testing.assert_array_equal(copy.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_model_switch_selects_the_core_estimator():
    X, y = _frame()
    kinds = {m: type(WideDeepClassifier(model=m, hidden_units=(8,), epochs=1,
                                        random_state=0).fit(X, y).estimator_).__name__
             for m in ("wide", "deep", "wide_deep")}
    assert kinds == {"wide": "WideEstimator", "deep": "DeepEstimator",
                     "wide_deep": "WideDeepEstimator"}


def test_predict_with_missing_column_names_it():
    X, y = _frame()
    clf = WideDeepClassifier(hidden_units=(8,), epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="app"):
        clf.predict(X.drop(columns="app"))


def test_an_empty_frame_is_refused_as_empty():
    X, y = _frame()
    with pytest.raises(ValueError, match="X has 0 rows"):
        WideDeepClassifier(epochs=1).fit(X.iloc[:0], y[:0])

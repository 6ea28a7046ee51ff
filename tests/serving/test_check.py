"""check_before_serving: accepts a good model, rejects NaN weights, a worse model, a blown
latency budget, each with a reason naming the failed check."""
import copy

import numpy as np
import pytest
from serving_helpers import build_model, make_request, random_examples

from widedeep.serving import check_before_serving


@pytest.fixture(scope="module")
def holdout():
    return random_examples(np.random.default_rng(11), 800)


@pytest.fixture(scope="module")
def sample_requests():
    rng = np.random.default_rng(12)
    return [make_request(rng, 20) for _ in range(12)]


def test_good_model_is_accepted_against_itself_and_reports_numbers(trained_model, holdout,
                                                                   sample_requests):
    features, labels = holdout
    report = check_before_serving(trained_model, trained_model, features, labels,
                                  sample_requests, latency_budget_ms=1000.0)
    assert report.accepted, report.reasons
    assert report.reasons == []
    assert report.candidate_metrics == report.current_metrics
    assert 0.5 < report.candidate_metrics["auc"] <= 1.0
    assert report.n_timed == len(sample_requests)
    assert 0 < report.latency_p50_ms <= report.latency_p99_ms
    assert report.non_finite_scores == 0
    assert "ACCEPTED" in str(report)


def test_first_model_gets_only_absolute_checks(trained_model, holdout, sample_requests):
    features, labels = holdout
    report = check_before_serving(trained_model, None, features, labels, sample_requests,
                                  latency_budget_ms=1000.0)
    assert report.accepted and report.current_metrics is None
    strict = check_before_serving(trained_model, None, features, labels, sample_requests,
                                  latency_budget_ms=1000.0, min_auc=0.999)
    assert not strict.accepted and "minimum" in strict.reasons[0]


def test_model_with_nan_weights_is_rejected_for_non_finite_scores(trained_model, holdout,
                                                                  sample_requests):
    broken = copy.deepcopy(trained_model)
    broken.deep_.layers[0].params["W"][3, :] = np.nan
    features, labels = holdout
    report = check_before_serving(broken, trained_model, features, labels, sample_requests,
                                  latency_budget_ms=1000.0)
    assert not report.accepted
    assert any("non-finite scores" in reason and "holdout" in reason
               for reason in report.reasons)
    assert any("non-finite scores" in reason and "dry-run" in reason
               for reason in report.reasons)
    assert report.non_finite_scores > 0


def test_clearly_worse_model_is_rejected_for_its_auc(trained_model, training_data, holdout,
                                                     sample_requests):
    features, labels = training_data
    rng = np.random.default_rng(0)
    worse = build_model(epochs=1).fit(features, rng.permutation(labels))
    report = check_before_serving(worse, trained_model, *holdout, sample_requests,
                                  latency_budget_ms=1000.0)
    assert not report.accepted
    assert any(reason.startswith("AUC") and "below the current model" in reason
               for reason in report.reasons)
    assert report.candidate_metrics["auc"] < report.current_metrics["auc"] - 0.005


def test_tiny_latency_budget_is_rejected_for_latency(trained_model, holdout, sample_requests):
    report = check_before_serving(trained_model, trained_model, *holdout, sample_requests,
                                  latency_budget_ms=1e-6)
    assert not report.accepted
    assert report.reasons == [f"latency p99 {report.latency_p99_ms:.3f} ms exceeds the budget "
                              f"of 1e-06 ms"]


def test_without_sample_requests_the_holdout_is_timed_in_slices(trained_model, holdout):
    features, labels = holdout
    report = check_before_serving(trained_model, trained_model, features, labels,
                                  latency_budget_ms=1000.0, request_size=100)
    assert report.accepted and report.n_timed == 8


def test_label_count_must_match_the_holdout(trained_model, holdout):
    features, labels = holdout
    with pytest.raises(ValueError, match="labels"):
        check_before_serving(trained_model, None, features, labels[:-1])


def _regression_and_multiclass_data(features, labels, seed):
    """Targets the app-store features explain: a rating (regression) and three classes."""
    rng = np.random.default_rng(seed)
    user = features["user_dense"][:, 0]
    values = 2.0 * labels + 0.5 * user + rng.normal(0, 0.2, labels.shape[0])
    classes = (labels + (user > 0.5)).astype(np.float64)
    return values, classes


@pytest.fixture(scope="module")
def other_objectives(training_data, holdout):
    features, labels = training_data
    values, classes = _regression_and_multiclass_data(features, labels, 0)
    rng = np.random.default_rng(1)
    fitted = {}
    for objective, y, extra in (("regression", values, {}),
                                ("multiclass", classes, {"n_classes": 3})):
        good = build_model(objective=objective, **extra).fit(features, y)
        worse = build_model(objective=objective, epochs=1, **extra).fit(features,
                                                                        rng.permutation(y))
        fitted[objective] = good, worse
    holdout_values, holdout_classes = _regression_and_multiclass_data(*holdout, 2)
    return fitted, {"regression": holdout_values, "multiclass": holdout_classes}


def test_regression_candidate_is_gated_on_rmse_against_the_current_model(
        other_objectives, holdout, sample_requests):
    (good, worse), y = other_objectives[0]["regression"], other_objectives[1]["regression"]
    features = holdout[0]
    same = check_before_serving(good, good, features, y, sample_requests,
                                latency_budget_ms=1000.0)
    assert same.accepted, same.reasons
    expected_rmse = np.sqrt(np.mean((good.predict(features).astype(np.float64) - y) ** 2))
    assert same.candidate_metrics["rmse"] == pytest.approx(expected_rmse, rel=1e-6)
    report = check_before_serving(worse, good, features, y, sample_requests,
                                  latency_budget_ms=1000.0)
    assert not report.accepted
    (reason,) = report.reasons
    assert reason.startswith("RMSE") and "above the current model's" in reason \
        and "(tolerated increase 1%)" in reason
    loose = check_before_serving(worse, good, features, y, sample_requests,
                                 latency_budget_ms=1000.0, max_rmse_increase=100.0)
    assert loose.accepted, loose.reasons


def test_multiclass_candidate_is_gated_on_logloss_and_accuracy(other_objectives, holdout,
                                                               sample_requests):
    (good, worse), y = other_objectives[0]["multiclass"], other_objectives[1]["multiclass"]
    features = holdout[0]
    same = check_before_serving(good, good, features, y, sample_requests,
                                latency_budget_ms=1000.0)
    assert same.accepted, same.reasons
    p = good.predict_proba(features).astype(np.float64)
    rows = np.arange(y.shape[0])
    assert same.candidate_metrics["logloss"] == pytest.approx(
        -np.mean(np.log(p[rows, y.astype(int)])), rel=1e-5)
    assert same.candidate_metrics["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))
    report = check_before_serving(worse, good, features, y, sample_requests,
                                  latency_budget_ms=1000.0)
    assert not report.accepted
    assert [r.split()[0] for r in report.reasons] == ["logloss", "accuracy"], report.reasons
    assert report.candidate_metrics["accuracy"] < report.current_metrics["accuracy"] - 0.005


def test_models_of_different_objectives_are_not_compared(trained_model, other_objectives,
                                                         holdout):
    good, _ = other_objectives[0]["regression"]
    report = check_before_serving(good, trained_model, holdout[0],
                                  other_objectives[1]["regression"], latency_budget_ms=1000.0)
    assert not report.accepted and report.current_metrics is None
    assert report.reasons == ["the current model's objective {'objective': 'binary'} is not "
                              "the candidate's {'objective': 'regression'}: quality cannot "
                              "be compared (pin the version to serve it anyway)"]

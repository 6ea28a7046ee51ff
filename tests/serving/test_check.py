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

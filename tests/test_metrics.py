"""Metrics against brute-force definitions: AUC by counting every (positive, negative) pair,
log-loss by the direct formula, accuracy by a loop."""
import doctest
import math

import numpy as np
import pytest

import widedeep.metrics as metrics_module
from widedeep.metrics import accuracy, auc, logloss


def brute_force_auc(y_true, y_score, sample_weight=None):
    """O(n^2): weighted fraction of (positive, negative) pairs ordered correctly, ties 1/2."""
    weight = np.ones(len(y_true)) if sample_weight is None else sample_weight
    numerator = denominator = 0.0
    for i in range(len(y_true)):
        if y_true[i] != 1:
            continue
        for j in range(len(y_true)):
            if y_true[j] != 0:
                continue
            pair = weight[i] * weight[j]
            denominator += pair
            if y_score[i] > y_score[j]:
                numerator += pair
            elif y_score[i] == y_score[j]:
                numerator += 0.5 * pair
    return numerator / denominator


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_equals_pair_count_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    n = 300
    y_true = rng.integers(0, 2, size=n)
    y_score = rng.integers(0, 8, size=n) / 8.0        # only 8 distinct scores: many ties
    assert auc(y_true, y_score) == pytest.approx(brute_force_auc(y_true, y_score), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_weighted_auc_equals_weighted_pair_count(seed):
    rng = np.random.default_rng(seed + 10)
    n = 250
    y_true = rng.integers(0, 2, size=n).astype(float)
    y_score = np.round(rng.normal(size=n), 1)
    sample_weight = rng.exponential(size=n)
    sample_weight[::7] = 0.0
    assert auc(y_true, y_score, sample_weight) == pytest.approx(
        brute_force_auc(y_true, y_score, sample_weight), rel=1e-12)


def test_auc_with_integer_weights_equals_repeating_examples():
    y_true = np.array([0, 1, 1, 0, 1])
    y_score = np.array([0.2, 0.2, 0.9, 0.5, 0.4])
    weight = np.array([2, 1, 3, 1, 2])
    repeated = np.repeat(np.arange(5), weight)
    assert auc(y_true, y_score, weight) == pytest.approx(
        auc(y_true[repeated], y_score[repeated]), rel=1e-14)


def test_auc_small_cases_by_hand():
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auc([0, 1], [0.3, 0.3]) == 0.5
    assert auc([1, 0], [0.9, 0.1]) == 1.0
    assert auc([1, 0], [0.1, 0.9]) == 0.0
    assert auc([True, False, True], [2.0, -1.0, -3.0]) == 0.5   # raw scores, bool labels


def test_auc_is_invariant_to_monotone_transforms():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, size=100)
    y_score = rng.normal(size=100)
    assert auc(y_true, y_score) == pytest.approx(auc(y_true, 1 / (1 + np.exp(-y_score))))


@pytest.mark.parametrize("y_true", [[1, 1, 1], [0, 0]])
def test_auc_with_one_class_raises(y_true):
    with pytest.raises(ValueError, match="only one class"):
        auc(y_true, np.linspace(0, 1, len(y_true)))


def test_auc_with_zero_weight_class_raises():
    with pytest.raises(ValueError, match="total sample weight 0"):
        auc([0, 1, 1], [0.1, 0.2, 0.3], sample_weight=[0.0, 1.0, 1.0])


def test_logloss_equals_direct_formula():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=200)
    y_prob = rng.uniform(0.01, 0.99, size=200)
    expected = -np.mean(y_true * np.log(y_prob) + (1 - y_true) * np.log(1 - y_prob))
    assert logloss(y_true, y_prob) == pytest.approx(expected, rel=1e-12)


def test_weighted_logloss_is_weighted_mean():
    y_true = np.array([1, 0, 1])
    y_prob = np.array([0.8, 0.3, 0.4])
    weight = np.array([1.0, 2.0, 0.5])
    per_example = [-math.log(0.8), -math.log(0.7), -math.log(0.4)]
    expected = sum(w * l for w, l in zip(weight, per_example)) / weight.sum()
    assert logloss(y_true, y_prob, sample_weight=weight) == pytest.approx(expected, rel=1e-12)


def test_logloss_is_finite_for_probabilities_exactly_0_and_1():
    # correct confident predictions cost ~ -log(1 - eps); wrong ones are capped at -log(eps)
    assert logloss([1, 0], [1.0, 0.0]) == pytest.approx(-math.log(1 - 1e-7), rel=1e-9)
    wrong = logloss([1, 0], [0.0, 1.0])
    assert math.isfinite(wrong) and wrong == pytest.approx(-math.log(1e-7), rel=1e-9)
    assert logloss([1], [0.0], eps=1e-3) == pytest.approx(-math.log(1e-3), rel=1e-9)


def test_logloss_accepts_float32_probabilities():
    y_prob = np.array([0.25, 0.75], dtype=np.float32)
    assert logloss([0, 1], y_prob) == pytest.approx(-math.log(0.75), rel=1e-7)


def test_logloss_rejects_probabilities_outside_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\].*position 1"):
        logloss([0, 1], [0.5, 1.5])


def test_accuracy_equals_brute_force():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, size=150)
    y_prob = rng.uniform(size=150)
    y_prob[:10] = 0.5                                  # exactly at the threshold predicts 1
    weight = rng.uniform(size=150)
    for threshold in (0.5, 0.3):
        correct = [(1 if p >= threshold else 0) == y for y, p in zip(y_true, y_prob)]
        assert accuracy(y_true, y_prob, threshold=threshold) == pytest.approx(
            sum(correct) / 150, rel=1e-14)
        assert accuracy(y_true, y_prob, threshold=threshold, sample_weight=weight) == \
            pytest.approx(sum(w for w, c in zip(weight, correct) if c) / weight.sum(),
                          rel=1e-12)


def test_accuracy_small_case_by_hand():
    # 0.5 at the threshold predicts 1: wrong for label 0
    assert accuracy([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.5]) == 0.5
    assert accuracy([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5]) == 0.75


@pytest.mark.parametrize("metric", [auc, logloss, accuracy])
@pytest.mark.parametrize("y_true,y_score,sample_weight,message", [
    ([0, 1, 1], [0.1, 0.2], None, "3 entries"),
    ([0, 2, 1], [0.1, 0.2, 0.3], None, "labels must be 0 or 1"),
    ([0, -1, 1], [0.1, 0.2, 0.3], None, "labels must be 0 or 1"),
    ([0, 1, 1], [0.1, np.nan, 0.3], None, "finite"),
    ([0, 1, 1], [0.1, np.inf, 0.3], None, "finite"),
    ([0, 1, 1], [0.1, 0.2, 0.3], [1.0, 1.0], "sample_weight"),
    ([0, 1, 1], [0.1, 0.2, 0.3], [1.0, -1.0, 1.0], "sample_weight"),
    ([], [], None, "empty"),
])
def test_bad_input_raises_value_error(metric, y_true, y_score, sample_weight, message):
    with pytest.raises(ValueError, match=message):
        metric(np.array(y_true), np.array(y_score), sample_weight=sample_weight)


def test_docstring_examples_run():
    result = doctest.testmod(metrics_module)
    assert result.attempted > 0 and result.failed == 0

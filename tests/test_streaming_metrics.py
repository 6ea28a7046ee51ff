"""Streaming metrics equal the in-memory ones (log-loss, accuracy exactly; AUC within the
bound it reports), for any split of the stream and with weights."""
import numpy as np
import pytest

from widedeep.metrics import accuracy, auc, logloss
from widedeep.streaming_metrics import StreamingBinaryMetrics


def data(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    logit = rng.normal(-2.5, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(logit + rng.normal(0, 1, n))))).astype(float)
    return y, 1 / (1 + np.exp(-logit)), rng.uniform(0, 3, n)


@pytest.mark.parametrize("n_bins", [64, 4096, 65536])
def test_binned_auc_is_within_its_stated_bound_of_the_exact_auc(n_bins):
    y, p, w = data()
    metrics = StreamingBinaryMetrics(n_bins=n_bins)
    for start in range(0, len(y), 3001):
        metrics.update(y[start:start + 3001], p[start:start + 3001], w[start:start + 3001])
    result = metrics.result()
    exact = auc(y, p, w)
    assert abs(result["auc"] - exact) <= result["auc_error_bound"] + 1e-12
    assert result["logloss"] == pytest.approx(logloss(y, p, w), rel=1e-10)
    assert result["accuracy"] == pytest.approx(accuracy(y, p, sample_weight=w), rel=1e-12)
    if n_bins == 64:
        assert result["auc_error_bound"] > 1e-3          # coarse bins: a real, wide bound
    if n_bins == 65536:
        assert result["auc_error_bound"] < 1e-4


def test_parts_merge_into_the_whole():
    y, p, w = data(5000, seed=1)
    whole, left, right = (StreamingBinaryMetrics(n_bins=1024) for _ in range(3))
    whole.update(y, p, w)
    left.update(y[:1234], p[:1234], w[:1234])
    right.update(y[1234:], p[1234:], w[1234:])
    merged = left.merge(right).result()
    for key, value in whole.result().items():
        assert merged[key] == pytest.approx(value, rel=1e-12)


def test_bad_labels_and_probabilities_are_refused_naming_the_row():
    metrics = StreamingBinaryMetrics()
    with pytest.raises(ValueError, match="row 1"):
        metrics.update([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="row 0"):
        metrics.update([0, 1], [np.nan, 0.2])

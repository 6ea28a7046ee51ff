"""`evaluate` on a batch source: streamed in bounded memory, metrics equal to scoring the
same rows in memory (exactly, except the binary AUC, within its stated error bound)."""
import tracemalloc

import numpy as np
import pytest

from widedeep import DeepEstimator, SparseInput, WideEstimator
from widedeep.estimators.batching import slice_rows
from widedeep.metrics import auc as exact_auc

from estimator_world import model_params


def batches_of(X, y, size, sample_weight=None):
    n = y.shape[0]
    return [(slice_rows(X, s, min(s + size, n)), y[s:s + size],
             *(() if sample_weight is None else (sample_weight[s:s + size],)))
            for s in range(0, n, size)]


def wide_X(X):
    return {k: v for k, v in X.items() if k != "context"}


@pytest.fixture(scope="module")
def binary_model(world, small_data):
    (X, y), _ = small_data
    return WideEstimator(model_params(world)["wide_fields"], epochs=2, random_state=0,
                         early_stopping=False).fit(wide_X(X), y)


def test_streamed_binary_metrics_match_in_memory_and_auc_within_its_bound(binary_model,
                                                                          small_data):
    _, (Xt, yt) = small_data
    Xt = wide_X(Xt)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, yt.shape[0])
    exact = binary_model.evaluate(Xt, yt, weights)
    streamed = binary_model.evaluate(batches_of(Xt, yt, 97, weights))
    assert streamed["logloss"] == pytest.approx(exact["logloss"], rel=1e-9)
    assert streamed["accuracy"] == pytest.approx(exact["accuracy"], rel=1e-12)
    # the independent reference: the sorted, exact AUC of every prediction at once
    reference = exact_auc(yt, binary_model.predict_proba(Xt), weights)
    bound = streamed["auc_error_bound"]
    assert 0 <= bound < 0.01   # (tied scores of the wide model share bins)
    assert abs(streamed["auc"] - reference) <= bound + 1e-12


def test_streamed_auc_bound_is_reached_by_a_model_with_few_distinct_scores():
    # one binary field: two distinct predictions, so each bin holds both classes and the
    # binned AUC counts those pairs 1/2, exactly as the exact AUC counts ties
    ids = np.array([0, 0, 1, 1, 1, 0])
    X = {"f": SparseInput.from_ids(ids, vocab_size=2)}
    y = np.array([0, 1, 1, 1, 0, 0])
    model = WideEstimator({"f": 2}, epochs=3, batch_size=2, random_state=0,
                          early_stopping=False).fit(X, y)
    streamed = model.evaluate(batches_of(X, y, 4))
    assert streamed["auc"] == pytest.approx(exact_auc(y, model.predict_proba(X)), abs=1e-12)
    assert streamed["auc_error_bound"] > 0   # ties in a bin: the bound says so


@pytest.mark.parametrize("objective", ["regression", "multiclass"])
def test_streamed_regression_and_multiclass_metrics_are_exact(world, small_data, objective):
    (X, y), (Xt, yt) = small_data
    if objective == "multiclass":
        y, yt = (y + (X["context"][:, 0] > 0)).astype(int), \
            (yt + (Xt["context"][:, 0] > 0)).astype(int)
    p = model_params(world)["deep"]
    model = DeepEstimator(**p, objective=objective, n_classes=3 if objective == "multiclass"
                          else None, epochs=1, random_state=0,
                          early_stopping=False).fit(X, y)
    weights = np.random.default_rng(4).uniform(0.5, 2.0, yt.shape[0])
    exact = model.evaluate(Xt, yt, weights)
    streamed = model.evaluate(batches_of(Xt, yt, 128, weights))
    assert set(streamed) == set(exact)
    for name, value in exact.items():
        assert streamed[name] == pytest.approx(value, rel=1e-9), name


def _peak_bytes(model, X, y, n_batches):
    batch = (slice_rows(X, 0, 1000), y[:1000])

    def source():   # a fresh generator each call: n_batches batches, none kept
        return (batch for _ in range(n_batches))

    model.evaluate(source)   # warm-up
    tracemalloc.start()
    try:
        model.evaluate(source)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streamed_evaluation_memory_does_not_grow_with_the_number_of_rows(binary_model,
                                                                          small_data):
    (X, y), _ = small_data
    X = wide_X(X)
    few, many = _peak_bytes(binary_model, X, y, 10), _peak_bytes(binary_model, X, y, 200)
    # 200 000 predictions concatenated would hold >= 200 000 * 8 * 2 bytes (p and y)
    assert many < few * 1.5 + 50_000
    assert many < 200_000 * 16


def test_streamed_evaluation_names_the_bad_batch_and_refuses_an_empty_source(binary_model,
                                                                             small_data):
    _, (Xt, yt) = small_data
    batches = batches_of(wide_X(Xt), yt, 100)
    bad_labels = batches[1][1].copy()
    bad_labels[3] = 2
    batches[1] = (batches[1][0], bad_labels)
    with pytest.raises(ValueError, match="batch 2 of the evaluation source.*row 3"):
        binary_model.evaluate(batches)
    with pytest.raises(ValueError, match="no batches"):
        binary_model.evaluate([])

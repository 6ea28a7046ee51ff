"""Ranker: equals predict_logit on the expanded batch, split- and thread-invariant, sorts,
never mutates the model, and validates requests."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from serving_helpers import build_model, expand, make_request

from widedeep import SparseInput, WideEstimator
from widedeep.serving import Ranker, sub_batch_bounds


def test_tiled_ranker_is_bit_identical_to_predict_logit_on_expanded_batch(trained_model,
                                                                          requests_):
    ranker = Ranker(trained_model, first_layer="tiled")
    for request in requests_:
        expected = trained_model.predict_logit(expand(request))
        np.testing.assert_array_equal(ranker.rank(request).scores, expected)


def test_factorized_ranker_equals_predict_logit_to_float_rounding(trained_model, requests_):
    ranker = Ranker(trained_model)
    for request in requests_:
        expected = trained_model.predict_logit(expand(request))
        np.testing.assert_allclose(ranker.rank(request).scores, expected, rtol=1e-5,
                                   atol=1e-5)


def test_float64_model_factorized_ranker_agrees_to_1e12(training_data, requests_):
    features, labels = training_data
    model = build_model(dtype=np.float64, epochs=1).fit(features, labels)
    for request in requests_:
        np.testing.assert_allclose(Ranker(model).rank(request).scores,
                                   model.predict_logit(expand(request)), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("first_layer", ["factorized", "tiled"])
def test_scores_are_bit_identical_for_1_2_4_sub_batches_with_block_rows(trained_model,
                                                                        first_layer):
    rng = np.random.default_rng(3)
    ranker = Ranker(trained_model, first_layer=first_layer, block_rows=4)
    for n in (1, 5, 16, 37, 100):
        request = make_request(rng, n)
        whole = ranker.score(request, sub_batches=1)
        for k in (2, 4):
            np.testing.assert_array_equal(ranker.score(request, sub_batches=k), whole)


@pytest.mark.parametrize("first_layer", ["factorized", "tiled"])
def test_scores_of_1_2_4_sub_batches_agree_to_float_rounding(trained_model, requests_,
                                                             first_layer):
    """Without block_rows, OpenBLAS may round a row differently in a shorter matrix."""
    ranker = Ranker(trained_model, first_layer=first_layer)
    for request in requests_:
        whole = ranker.score(request, sub_batches=1)
        for k in (2, 4):
            np.testing.assert_allclose(ranker.score(request, sub_batches=k), whole,
                                       rtol=1e-6, atol=1e-6)


def test_block_rows_scores_equal_unblocked_scores_to_float_rounding(trained_model, requests_):
    for request in requests_:
        np.testing.assert_allclose(Ranker(trained_model, block_rows=3).score(request),
                                   Ranker(trained_model).score(request), rtol=1e-6, atol=1e-6)


def test_threaded_sub_batches_equal_the_same_split_on_one_thread(trained_model, requests_):
    single = Ranker(trained_model, sub_batches=4)
    with Ranker(trained_model, n_threads=4) as threaded:
        for request in requests_:
            np.testing.assert_array_equal(threaded.rank(request).scores,
                                          single.rank(request).scores)


def test_concurrent_rank_calls_from_8_threads_equal_sequential_results(trained_model):
    rng = np.random.default_rng(5)
    requests = [make_request(rng, int(rng.integers(1, 50))) for _ in range(64)]
    with Ranker(trained_model, n_threads=2) as ranker:
        sequential = [ranker.rank(r).scores for r in requests]
        with ThreadPoolExecutor(8) as pool:
            concurrent = list(pool.map(lambda r: ranker.rank(r).scores, requests * 3))
    for i, scores in enumerate(concurrent):
        np.testing.assert_array_equal(scores, sequential[i % len(requests)])


def test_result_orders_candidates_by_decreasing_score_with_top_k(trained_model, requests_):
    request = requests_[2]
    result = Ranker(trained_model).rank(request, top_k=5)
    assert np.all(np.diff(result.scores[result.order]) <= 0)
    assert sorted(result.order.tolist()) == list(range(len(result)))
    np.testing.assert_array_equal(result.top_k, result.order[:5])
    np.testing.assert_array_equal(result.top_scores, np.sort(result.scores)[::-1][:5])
    np.testing.assert_allclose(result.probabilities, 1 / (1 + np.exp(-result.scores)),
                               rtol=1e-6)


def test_ties_keep_request_order():
    model = WideEstimator({"app": 4}, epochs=1, random_state=0).fit(
        {"app": SparseInput.from_ids(np.array([0, 1, 2, 3]))}, np.array([1, 0, 1, 0]))
    candidates = {"app": SparseInput.from_ids(np.array([1, 0, 1, 0, 1]))}
    result = Ranker(model).rank({"query": {}, "candidates": candidates})
    assert result.order.tolist() == [1, 3, 0, 2, 4]


def test_ranking_never_mutates_the_model(trained_model, requests_):
    before = trained_model.get_state(copy=True)
    with Ranker(trained_model, n_threads=3) as ranker:
        for request in requests_:
            ranker.rank(request)
            ranker.rank(request, sub_batches=4)
    Ranker(trained_model, first_layer="tiled").rank(requests_[1])
    after = trained_model.get_state()
    assert before.keys() == after.keys()
    for key in before:
        assert before[key].tobytes() == after[key].tobytes(), key


def test_query_is_computed_once_not_per_candidate(trained_model, requests_, monkeypatch):
    """The installed-apps bag is pooled for one row, however many candidates there are."""
    layer = trained_model.deep_.embeddings.fields["installed"]
    seen = []
    original = type(layer).forward

    def spy(self, x, training=False, rng=None):
        if self is layer:
            seen.append(x.n_examples)
        return original(self, x, training, rng)

    monkeypatch.setattr(type(layer), "forward", spy)
    Ranker(trained_model).rank(requests_[3], sub_batches=4)
    assert seen == [1]


def test_field_given_per_candidate_overrides_the_query(trained_model, requests_):
    """The fully expanded dict as the candidates (and nothing in the query) still works."""
    request = requests_[2]
    expanded = expand(request)
    scores = Ranker(trained_model).rank({"query": {}, "candidates": expanded}).scores
    np.testing.assert_allclose(scores, trained_model.predict_logit(expanded), rtol=1e-6)


def test_pair_request_equals_mapping_request(trained_model, requests_):
    request = requests_[1]
    ranker = Ranker(trained_model)
    np.testing.assert_array_equal(ranker.rank((request["query"], request["candidates"])).scores,
                                  ranker.rank(request).scores)


def test_missing_field_is_named(trained_model, requests_):
    query = dict(requests_[1]["query"])
    del query["device"]
    with pytest.raises(ValueError, match="device"):
        Ranker(trained_model).rank({"query": query, "candidates": requests_[1]["candidates"]})


def test_query_of_two_rows_is_rejected(trained_model, requests_):
    query = expand(requests_[1])
    candidates = {"impression": requests_[1]["candidates"]["impression"]}
    query = {k: v for k, v in query.items() if k not in candidates}
    with pytest.raises(ValueError, match="one example"):
        Ranker(trained_model).rank({"query": query, "candidates": candidates})


def test_out_of_range_candidate_id_names_the_field(trained_model, requests_):
    candidates = dict(requests_[1]["candidates"])
    candidates["impression"] = SparseInput.from_ids(np.full(7, 10_000))
    with pytest.raises(ValueError, match="impression"):
        Ranker(trained_model).rank({"query": requests_[1]["query"], "candidates": candidates})


def test_sub_batch_bounds_cover_all_rows_evenly():
    assert sub_batch_bounds(10, 4) == [(0, 2), (2, 5), (5, 8), (8, 10)]
    assert sub_batch_bounds(3, 8) == [(0, 1), (1, 2), (2, 3)]
    assert sub_batch_bounds(5, 1) == [(0, 5)]


def test_sub_batch_bounds_align_starts_to_blocks():
    assert sub_batch_bounds(100, 4, align=25) == [(0, 25), (25, 50), (50, 75), (75, 100)]
    assert sub_batch_bounds(10, 4, align=4) == [(0, 4), (4, 8), (8, 10)]
    assert sub_batch_bounds(37, 2, align=4) == [(0, 20), (20, 37)]


def test_rank_rejects_bad_arguments(trained_model, requests_):
    with pytest.raises(ValueError, match="n_threads"):
        Ranker(trained_model, n_threads=0)
    with pytest.raises(ValueError, match="first_layer"):
        Ranker(trained_model, first_layer="fast")
    with pytest.raises(TypeError, match="query"):
        Ranker(trained_model).rank({"candidates": {}})


def test_unfitted_estimator_is_refused():
    with pytest.raises(ValueError, match="not fitted"):
        Ranker(build_model())


@pytest.mark.parametrize("first_layer", ["factorized", "tiled"])
def test_ranker_scores_the_new_weights_after_a_refit(training_data, requests_, first_layer):
    features, labels = training_data
    model = build_model(epochs=1).fit(features, labels)
    ranker = Ranker(model, first_layer=first_layer)
    before = ranker.score(requests_[2])
    model.set_params(random_state=7, hidden_units=(12,)).fit(features, labels)
    after = ranker.score(requests_[2])
    expected = model.predict_logit(expand(requests_[2]))
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(before, after, atol=1e-3)


def test_ranker_scores_weights_changed_in_place_by_partial_fit(training_data, requests_):
    features, labels = training_data
    model = build_model(epochs=1).fit(features, labels)
    ranker = Ranker(model)
    before = ranker.score(requests_[3])
    model.partial_fit(features, labels)
    np.testing.assert_allclose(ranker.score(requests_[3]),
                               model.predict_logit(expand(requests_[3])), rtol=1e-5, atol=1e-5)
    assert not np.allclose(before, ranker.score(requests_[3]), atol=1e-4)


@pytest.mark.parametrize("first_layer", ["tiled", "factorized"])
def test_a_batch_norm_model_ranks_with_its_running_statistics(training_data, requests_,
                                                              first_layer):
    features, labels = training_data
    model = build_model(batch_norm=True).fit(features, labels)
    ranker = Ranker(model, first_layer=first_layer)
    for request in requests_:
        expected = model.predict_logit(expand(request))
        np.testing.assert_allclose(ranker.rank(request).scores, expected, rtol=1e-5,
                                   atol=1e-5)

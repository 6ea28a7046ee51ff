"""Several raw requests ranked as one (`Ranker.rank_many`, `serving/request_batch.py`): each
request's scores equal the model's logits of its own expanded batch (bit for bit in the wide
part), requests of different columns are kept apart, and stacking keeps every row."""
import numpy as np
import pytest
from serving_helpers import APPS, one_row, raw_batch

from widedeep.records import Ragged
from widedeep.serving import Ranker
from widedeep.serving.request import expand_columns
from widedeep.serving.request_batch import signature, stack_columns, stack_requests


def raw_request(rng, n_candidates):
    user = one_row(raw_batch(rng, 1), 0)
    return {"query": {k: user[k] for k in ("installed_apps", "country", "age")},
            "candidates": {"impression_app": rng.choice(APPS, size=n_candidates)
                           .astype(object)}}


def expected_logits(spec, model, request):
    """The independent reference: the model's logits of the request's expanded batch."""
    return model.predict_logit(
        spec.transform(expand_columns(request["query"], request["candidates"])))


@pytest.mark.parametrize("first_layer", ["factorized", "tiled"])
def test_each_request_of_a_batch_scores_its_own_expanded_batch(spec_model, first_layer):
    spec, model = spec_model
    rng = np.random.default_rng(0)
    requests = [raw_request(rng, n) for n in (1, 9, 30, 4, 17)]
    results = Ranker(model, spec=spec, first_layer=first_layer).rank_many(requests)
    assert len(results) == len(requests)
    for request, result in zip(requests, results):
        expected = expected_logits(spec, model, request)
        assert result.scores.shape == expected.shape
        np.testing.assert_allclose(result.scores, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(result.order, np.argsort(-result.scores, kind="stable"))


def test_a_wide_only_models_batched_scores_are_bit_identical(spec_model):
    spec, _ = spec_model
    rng = np.random.default_rng(1)
    batch = raw_batch(rng, 400)
    model = spec.build_estimator("wide", epochs=2, random_state=0)
    model.fit(spec.transform(batch), (rng.random(400) < 0.4).astype(float))
    requests = [raw_request(rng, n) for n in (3, 12, 1, 25)]
    for request, result in zip(requests, Ranker(model, spec=spec).rank_many(requests)):
        np.testing.assert_array_equal(result.scores, expected_logits(spec, model, request))


def test_sub_batches_across_requests_and_top_k_per_request(spec_model):
    spec, model = spec_model
    rng = np.random.default_rng(2)
    requests = [raw_request(rng, n) for n in (8, 5, 13)]
    with Ranker(model, spec=spec, n_threads=3) as ranker:
        results = ranker.rank_many(requests, top_k=[2, 5, 1])
    for request, result, k in zip(requests, results, (2, 5, 1)):
        expected = expected_logits(spec, model, request)
        np.testing.assert_allclose(result.scores, expected, rtol=1e-5, atol=1e-6)
        assert result.top_k.tolist() == np.argsort(-result.scores, kind="stable")[:k].tolist()


def test_requests_with_other_columns_on_each_side_are_ranked_apart(spec_model):
    """The second request gives ``country`` per candidate: another signature, scored in its
    own group, still equal to its expanded batch."""
    spec, model = spec_model
    rng = np.random.default_rng(3)
    first, second, third = (raw_request(rng, n) for n in (6, 4, 7))
    second["candidates"]["country"] = np.array(["US", "DE", "JP", "US"], dtype=object)
    del second["query"]["country"]
    assert signature(**first) == signature(**third) != signature(**second)
    results = Ranker(model, spec=spec).rank_many([first, second, third])
    for request, result in zip((first, second, third), results):
        np.testing.assert_allclose(result.scores, expected_logits(spec, model, request),
                                   rtol=1e-5, atol=1e-6)


def test_a_multiclass_model_ranks_each_request_by_the_asked_class(spec_model):
    spec, _ = spec_model
    rng = np.random.default_rng(4)
    batch = raw_batch(rng, 400)
    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=1, random_state=0,
                                 objective="multiclass", n_classes=3)
    model.fit(spec.transform(batch), rng.integers(0, 3, 400))
    requests = [raw_request(rng, n) for n in (5, 3)]
    results = Ranker(model, spec=spec, target_class=1).rank_many(requests)
    for request, result in zip(requests, results):
        expanded = spec.transform(expand_columns(request["query"], request["candidates"]))
        np.testing.assert_allclose(result.scores, model.predict_proba(expanded)[:, 1],
                                   rtol=1e-5, atol=1e-7)


def test_a_request_without_candidates_fails_the_call(spec_model):
    spec, model = spec_model
    rng = np.random.default_rng(5)
    requests = [raw_request(rng, 3), raw_request(rng, 4)]
    requests[1]["candidates"]["impression_app"] = np.array([], dtype=object)
    requests[1]["candidates"] = {"impression_app": np.array([], dtype=object)}
    assert signature(**requests[0]) == signature(**requests[1])
    with pytest.raises(ValueError, match="no candidates"):
        Ranker(model, spec=spec).rank_many(requests)


def test_stacking_keeps_every_row_and_says_whose_each_candidate_is():
    rng = np.random.default_rng(6)
    requests = [(one_row(raw_batch(rng, 1), 0), {"impression_app": np.array(apps, object)})
                for apps in (["app1", "app2"], ["app3"], ["app4", "app5", "app6"])]
    query, candidates, query_rows, counts = stack_requests(requests)
    assert counts.tolist() == [2, 1, 3] and query_rows.tolist() == [0, 0, 1, 2, 2, 2]
    assert candidates["impression_app"].tolist() == ["app1", "app2", "app3", "app4", "app5",
                                                     "app6"]
    assert query["installed_apps"].to_lists() == [q["installed_apps"].to_lists()[0]
                                                  for q, _ in requests]
    assert query["age"].tolist() == [q["age"][0] for q, _ in requests]


def test_stack_columns_joins_bags_with_their_weights():
    first = {"bag": Ragged(np.array(["a", "b"]), [2], weights=[0.5, 1.0])}
    second = {"bag": Ragged(np.array(["c"]), [1], weights=[2.0])}
    stacked = stack_columns([first, second])["bag"]
    assert stacked.to_lists() == [["a", "b"], ["c"]]
    assert stacked.weights.tolist() == [0.5, 1.0, 2.0]
    with pytest.raises(ValueError, match="different columns"):
        stack_columns([first, {"other": np.array([1.0])}])

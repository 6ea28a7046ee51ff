"""Ranker on raw column requests through a FeatureSpec: user-only fields are transformed
from the query's one row, the rest per candidate, and scores match the expanded batch."""
import numpy as np
import pytest
from serving_helpers import APPS, one_row, raw_batch

from widedeep.serving import Ranker, request_features
from widedeep.serving.request import expand_columns


def raw_request(rng, n_candidates):
    user = one_row(raw_batch(rng, 1), 0)
    query = {k: user[k] for k in ("installed_apps", "country", "age")}
    return {"query": query,
            "candidates": {"impression_app": rng.choice(APPS, size=n_candidates).astype(object)}}


def test_user_fields_come_from_the_query_row_and_crosses_per_candidate(spec_model):
    spec, _ = spec_model
    query, candidates = request_features(raw_request(np.random.default_rng(0), 9), spec)
    assert set(query) == {"installed_apps", "country", "numeric"}
    assert set(candidates) == {"impression_app", "installed_apps_x_impression_app"}
    assert query["installed_apps"].n_examples == 1
    assert candidates["installed_apps_x_impression_app"].n_examples == 9


@pytest.mark.parametrize("first_layer", ["factorized", "tiled"])
def test_raw_request_scores_equal_predict_logit_on_the_expanded_columns(spec_model,
                                                                        first_layer):
    spec, model = spec_model
    rng = np.random.default_rng(1)
    ranker = Ranker(model, spec=spec, first_layer=first_layer)
    for n in (1, 6, 30):
        request = raw_request(rng, n)
        expected = model.predict_logit(
            spec.transform(expand_columns(request["query"], request["candidates"])))
        scores = ranker.rank(request).scores
        if first_layer == "tiled":
            np.testing.assert_array_equal(scores, expected)
        else:
            np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_raw_query_of_two_rows_is_rejected(spec_model):
    spec, model = spec_model
    batch = raw_batch(np.random.default_rng(2), 2)
    query = {k: batch[k] for k in ("installed_apps", "country", "age")}
    request = {"query": query, "candidates": {"impression_app": np.array(["app1"], object)}}
    with pytest.raises(ValueError, match="one row"):
        Ranker(model, spec=spec).rank(request)


def test_raw_request_without_spec_is_refused(spec_model):
    _, model = spec_model
    with pytest.raises(TypeError, match="FeatureSpec"):
        Ranker(model).rank(raw_request(np.random.default_rng(3), 2))


def test_query_bag_read_by_no_candidate_field_still_scores_exactly():
    """Without a cross, installed_apps is a query-only source (not repeated for the
    candidates at all); scores still equal the expanded batch."""
    from widedeep.features import CategoricalColumn, FeatureSpec
    rng = np.random.default_rng(4)
    batch = raw_batch(rng, 300)
    spec = FeatureSpec([CategoricalColumn("installed_apps", embedding_dim=4),
                        CategoricalColumn("impression_app", embedding_dim=4),
                        CategoricalColumn("country")]).fit([batch])
    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=2, random_state=0)
    model.fit(spec.transform(batch), (rng.random(300) < 0.3).astype(float))
    request = raw_request(rng, 12)
    query, candidates = request_features(request, spec)
    assert set(query) == {"installed_apps", "country"} and set(candidates) == {"impression_app"}
    expected = model.predict_logit(
        spec.transform(expand_columns(request["query"], request["candidates"])))
    np.testing.assert_array_equal(Ranker(model, spec=spec, first_layer="tiled")
                                  .rank(request).scores, expected)


def test_each_side_transforms_only_its_fields_and_the_columns_they_read(spec_model,
                                                                        monkeypatch):
    """The user's fields are computed from one row; per candidate only the candidate's
    fields, from the candidate columns and the query columns they read (installed_apps for
    the cross), never the user-only country and age."""
    spec, _ = spec_model
    calls = []
    transform = type(spec).transform

    def spy(self, columns, fields=None):
        calls.append((sorted(columns), sorted(fields), len(columns["installed_apps"])
                      if "installed_apps" in columns else None))
        return transform(self, columns, fields)

    monkeypatch.setattr(type(spec), "transform", spy)
    request_features(raw_request(np.random.default_rng(5), 7), spec)
    assert calls == [(["age", "country", "installed_apps"],
                      ["country", "installed_apps", "numeric"], 1),
                     (["impression_app", "installed_apps"],
                      ["impression_app", "installed_apps_x_impression_app"], 7)]

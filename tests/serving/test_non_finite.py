"""A model with a NaN parameter: the pre-serving check finds it even where no holdout
example looks, ranking never ranks a NaN score, explain refuses it."""
import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator
from widedeep.serving import (NonFiniteScoreError, Ranker, check_before_serving, explain,
                              non_finite_parameters)


def _model():
    apps = np.arange(60) % 5             # app 5 never occurs in training or holdout
    X = {"app": SparseInput.from_ids(apps), "numeric": (apps[:, None] / 5.0).astype(np.float32)}
    y = (apps % 2).astype(float)
    model = WideDeepEstimator({"app": 6}, vocabularies={"app": (6, 3)},
                              embedding_fields={"app": "app"}, dense_fields={"numeric": 1},
                              hidden_units=(4,), epochs=3, random_state=0).fit(X, y)
    return model, X, y


def test_a_nan_embedding_row_the_holdout_never_touches_is_rejected():
    model, X, y = _model()
    assert check_before_serving(model, None, X, y, latency_budget_ms=1e6).accepted
    model.deep_.params["embedding/app"][5, 1] = np.nan
    check = check_before_serving(model, None, X, y, latency_budget_ms=1e6)
    assert not check.accepted
    assert check.non_finite_scores == 0      # the holdout alone would not have shown it
    assert check.non_finite_parameters == {"deep/embedding/app": (1, (5, 1))}
    assert "non-finite parameters: 'deep/embedding/app' has 1 (first at (5, 1))" \
        in check.reasons[0]


def test_non_finite_optimizer_state_is_found_too():
    model, X, y = _model()
    key = next(k for k in model.get_state() if k.startswith("wide/app/") and k != "wide/app/w")
    model.get_state()[key][2] = np.inf
    assert non_finite_parameters(model) == {key: (1, (2,))}
    assert not check_before_serving(model, None, X, y, latency_budget_ms=1e6).accepted


def _request():
    candidates = np.array([0, 5, 1, 2])
    return {"query": {}, "candidates": {
        "app": SparseInput.from_ids(candidates),
        "numeric": (candidates[:, None] / 5.0).astype(np.float32)}}


def test_ranking_isolates_or_refuses_non_finite_scores():
    model, _, _ = _model()
    model.deep_.params["embedding/app"][5] = np.nan
    with Ranker(model) as ranker:
        result = ranker.rank(_request(), top_k=10)
        assert result.non_finite.tolist() == [1]
        assert sorted(result.order.tolist()) == [0, 2, 3]
        assert np.all(np.isfinite(result.top_scores))
        with pytest.raises(NonFiniteScoreError, match=r"1 of 4 candidate scores are NaN or "
                                                      r"infinite \(candidates \[1\]\).*"
                                                      r"'deep/embedding/app' has 3"):
            ranker.rank(_request(), non_finite="raise")


def test_explain_refuses_a_non_finite_logit():
    model, _, _ = _model()
    model.wide_.params["app"][5] = np.inf
    one = {"app": SparseInput.from_ids([5]), "numeric": np.ones((1, 1), np.float32)}
    with pytest.raises(ValueError, match=r"explain: the logit is inf, not finite; from "
                                         r"app=5 \(inf\).*'wide/app/w' has 1"):
        explain(model, one)
    assert np.isfinite(explain(model, {"app": SparseInput.from_ids([2]),
                                       "numeric": np.ones((1, 1), np.float32)}).logit)


def test_a_raw_request_cannot_expand_the_query_beyond_the_limit():
    from widedeep.features import CrossedColumn, FeatureSpec, HashedColumn
    from widedeep.limits import limits
    from widedeep.records import Ragged
    from widedeep.serving import request_features
    spec = FeatureSpec([HashedColumn("installed", 100, wide=False), HashedColumn("app", 100),
                        CrossedColumn(["installed", "app"], hash_buckets=1000)])
    query = {"installed": Ragged(np.array([f"a{i}" for i in range(2000)]), [2000])}
    candidates = {"app": np.array([f"c{i}" for i in range(100)])}
    with limits(max_request_values=100_000):
        with pytest.raises(ValueError, match=r"query column 'installed' \(2000 values\) "
                                             r"repeated for 100 candidates makes more than "
                                             r"max_request_values=100000"):
            request_features({"query": query, "candidates": candidates}, spec)
    with limits(max_request_values=1_000_000, max_cross_ids=1_000_000):
        _, features = request_features({"query": query, "candidates": candidates}, spec)
        assert features["installed_x_app"].nnz == 2000 * 100

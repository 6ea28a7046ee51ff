"""The API contract, in process (Starlette's test client): :rank equals the in-process
Ranker, :predict equals predict_proba in both TF Serving formats, status, metadata, health,
readiness and metrics answer, and the admin endpoints are off by default."""
import numpy as np
import pytest
from server_world import app_spec, raw_batch, rank_body, save_version, train

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from widedeep.records import Ragged  # noqa: E402
from widedeep.server import ServerConfig, create_app  # noqa: E402
from widedeep.serving import Ranker  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("model_base")
    spec, model = train()
    save_version(base, "apps", 1, spec, model)
    with TestClient(create_app(ServerConfig(str(base), poll_seconds=0))) as client:
        yield client, spec, model


def as_columns(body):
    query = {k: (Ragged.from_lists([v]) if isinstance(v, list) else np.asarray([v], dtype=object
             if isinstance(v, str) else None)) for k, v in body["query"].items()}
    candidates = {k: np.asarray(v, dtype=object) for k, v in body["candidates"].items()}
    return {"query": query, "candidates": candidates}


def test_rank_returns_the_in_process_rankers_order_and_scores(served):
    client, spec, model = served
    body = rank_body(np.random.default_rng(1), 30, top_k=10)
    answer = client.post("/v1/models/apps:rank", json=body)
    assert answer.status_code == 200
    result = answer.json()
    expected = Ranker(model, spec=spec).rank(as_columns(body), top_k=10)
    assert result["model_version"] == 1 and result["n_candidates"] == 30
    assert [c["index"] for c in result["ranked"]] == expected.top_k.tolist()
    np.testing.assert_allclose([c["score"] for c in result["ranked"]], expected.top_scores,
                               rtol=1e-6)
    np.testing.assert_allclose([c["probability"] for c in result["ranked"]],
                               1 / (1 + np.exp(-expected.top_scores)), rtol=1e-6)


def test_rank_accepts_candidate_rows_as_well_as_columns(served):
    client, _, _ = served
    body = rank_body(np.random.default_rng(2), 8)
    rows = {**body, "candidates": [{"impression_app": a}
                                   for a in body["candidates"]["impression_app"]]}
    by_columns = client.post("/v1/models/apps:rank", json=body).json()
    by_rows = client.post("/v1/models/apps:rank", json=rows).json()
    assert by_rows["ranked"] == by_columns["ranked"]


def test_rank_with_explain_decomposes_each_top_logit(served):
    client, _, _ = served
    body = {**rank_body(np.random.default_rng(3), 6, top_k=2), "explain": True}
    result = client.post("/v1/models/apps:rank", json=body).json()
    assert [e["index"] for e in result["explanations"]] == \
        [c["index"] for c in result["ranked"]]
    for explanation, ranked in zip(result["explanations"], result["ranked"]):
        total = explanation["bias"] + explanation["deep_logit"] + \
            sum(w["contribution"] for w in explanation["wide"])
        assert total == pytest.approx(ranked["score"], abs=1e-5)
        assert {w["field"] for w in explanation["wide"]} >= {"impression_app", "country"}


def test_predict_rows_and_columns_equal_predict_proba(served):
    client, spec, model = served
    batch = raw_batch(np.random.default_rng(4), 7)
    columns = {"installed_apps": batch["installed_apps"].to_lists(),
               "impression_app": batch["impression_app"].tolist(),
               "country": batch["country"].tolist(), "age": batch["age"].tolist()}
    rows = [{k: v[i] for k, v in columns.items()} for i in range(7)]
    expected = model.predict_proba(spec.transform(batch))
    for body in ({"instances": rows}, {"inputs": columns}):
        answer = client.post("/v1/models/apps:predict", json=body)
        assert answer.status_code == 200
        np.testing.assert_allclose(answer.json()["predictions"], expected, rtol=1e-6)


def test_status_reports_the_available_version_with_its_gate_numbers(served):
    client, _, _ = served
    status = client.get("/v1/models/apps").json()
    (entry,) = status["model_version_status"]
    assert entry["version"] == "1" and entry["state"] == "AVAILABLE"
    assert entry["status"]["error_code"] == "OK"
    assert entry["details"]["n_timed"] == 4 and entry["details"]["latency_p99_ms"] > 0
    assert 0.5 < entry["details"]["candidate_metrics"]["auc"] <= 1
    assert client.get("/v1/models/apps/versions/1").json()["model_version_status"] == [entry]


def test_metadata_lists_columns_estimator_and_sizes(served):
    client, spec, model = served
    metadata = client.get("/v1/models/apps/metadata").json()
    assert metadata["model_spec"] == {"name": "apps", "version": "1"}
    assert metadata["metadata"]["columns"] == {"installed_apps": "category",
                                               "impression_app": "category",
                                               "country": "category", "age": "number"}
    assert metadata["metadata"]["estimator"] == "WideDeepEstimator"
    assert metadata["metadata"]["sizes"]["wide_fields"] == spec.estimator_params()["wide_fields"]


def test_health_readiness_and_metrics(served):
    client, _, _ = served
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"ready": True, "models": {"apps": 1}}
    client.post("/v1/models/apps:rank", json=rank_body(np.random.default_rng(5), 3))
    client.post("/v1/models/apps:rank", content=b"{")
    page = client.get("/metrics")
    assert page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert 'widedeep_model_version_served{model="apps",worker="0"} 1' in text
    assert 'endpoint="rank",code="200"}' in text and 'endpoint="rank",code="400"}' in text
    count = [line for line in text.splitlines()
             if line.startswith('widedeep_request_seconds_count{model="apps",version="1",'
                                'endpoint="rank"}')]
    inf = [line for line in text.splitlines() if 'endpoint="rank",le="+Inf"' in line]
    assert count and inf and count[0].split()[-1] == inf[0].split()[-1]


def test_readiness_is_503_without_a_servable_version(tmp_path):
    (tmp_path / "apps").mkdir()
    with TestClient(create_app(ServerConfig(str(tmp_path), poll_seconds=0))) as client:
        assert client.get("/readyz").status_code == 503
        answer = client.post("/v1/models/apps:rank", json={})
        assert answer.status_code == 503 and "no version" in answer.json()["error"]


def test_admin_endpoints_are_off_by_default(served):
    client, _, _ = served
    assert client.post("/v1/admin/poll").status_code == 404
    assert client.post("/v1/admin/models/apps/pin", json={"version": 1}).status_code == 404


def test_admin_pin_rolls_back_and_unpins_when_enabled(tmp_path):
    spec, model = train(seed=0, epochs=1)
    spec2, model2 = train(seed=1, epochs=1)
    save_version(tmp_path, "apps", 1, spec, model)
    save_version(tmp_path, "apps", 2, spec2, model2, with_holdout=False)
    config = ServerConfig(str(tmp_path), poll_seconds=0, enable_admin=True)
    with TestClient(create_app(config)) as client:
        body = rank_body(np.random.default_rng(6), 4)
        assert client.post("/v1/models/apps:rank", json=body).json()["model_version"] == 2
        pinned = client.post("/v1/admin/models/apps/pin", json={"version": 1}).json()
        assert pinned["pinned_version"] == 1
        assert client.post("/v1/models/apps:rank", json=body).json()["model_version"] == 1
        assert client.post("/v1/admin/models/apps/pin", json={"version": "x"}).status_code == 400
        client.post("/v1/admin/models/apps/pin", json={"version": None})
        assert client.post("/v1/models/apps:rank", json=body).json()["model_version"] == 2
        assert client.post("/v1/admin/poll").status_code == 200


def test_a_full_pool_answers_503_at_once():
    import asyncio
    import threading

    from widedeep.server.errors import RequestError
    from widedeep.server.pool import ScoringPool

    pool, release = ScoringPool(max_concurrent=1, max_queued=1), threading.Event()

    async def scenario():
        first = asyncio.ensure_future(pool.run(release.wait))
        second = asyncio.ensure_future(pool.run(release.wait))
        await asyncio.sleep(0.05)
        with pytest.raises(RequestError) as refused:
            await pool.run(release.wait)
        release.set()
        await asyncio.gather(first, second)
        return refused.value.status
    assert asyncio.run(scenario()) == 503
    pool.close()


def test_multiclass_model_ranks_by_the_asked_class_and_predicts_per_class_rows(tmp_path):
    rng = np.random.default_rng(0)
    batch = raw_batch(rng, 600)
    spec = app_spec().fit([batch])
    model = spec.build_estimator("wide_deep", hidden_units=(8,), epochs=1, random_state=0,
                                 objective="multiclass", n_classes=3)
    model.fit(spec.transform(batch), rng.integers(0, 3, 600))
    save_version(tmp_path, "m", 1, spec, model, with_holdout=False)
    with TestClient(create_app(ServerConfig(str(tmp_path), poll_seconds=0))) as client:
        body = rank_body(rng, 5)
        missing = client.post("/v1/models/m:rank", json=body)
        assert missing.status_code == 400 and missing.json()["field"] == "target_class"
        ranked = client.post("/v1/models/m:rank", json={**body, "target_class": 2}).json()
        expected = Ranker(model, spec=spec, target_class=2).rank(as_columns(body))
        assert [c["index"] for c in ranked["ranked"]] == expected.order.tolist()
        rows = [{"installed_apps": ["app1"], "impression_app": "app4", "country": "US",
                 "age": 30.0}]
        predictions = client.post("/v1/models/m:predict", json={"instances": rows}).json()
        (row,) = predictions["predictions"]
        assert len(row) == 3 and sum(row) == pytest.approx(1.0, abs=1e-5)

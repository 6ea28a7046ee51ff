"""The server as a real subprocess over loopback: a swap under load fails no request and
mixes no versions, a broken version is refused while the old one serves, and bad requests
(oversized, chunked, malformed) get 4xx without harming the server."""
import copy
import json
import threading
import time

import numpy as np
import pytest
from server_process import ServerProcess
from server_world import rank_body, save_version, train

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from widedeep.server.json_columns import columns_from_json  # noqa: E402
from widedeep.server.limits import ServerLimits  # noqa: E402
from widedeep.serving import Ranker  # noqa: E402


def expected_scores(spec, model, body):
    kinds, limits = spec.raw_columns(), ServerLimits()
    query, _ = columns_from_json({k: [v] for k, v in body["query"].items()}, kinds, "q",
                                 limits, 1, "")
    candidates, _ = columns_from_json(body["candidates"], kinds, "c", limits, 10 ** 6, "")
    scores = Ranker(model, spec=spec).score({"query": query, "candidates": candidates})
    return scores.astype(np.float64)


def test_swap_under_load_fails_no_request_and_mixes_no_versions(tmp_path):
    day0, day1 = train(seed=0), train(seed=1, n=3000)
    save_version(tmp_path, "apps", 1, *day0)
    body = rank_body(np.random.default_rng(0), 40)
    by_version = {1: expected_scores(*day0, body), 2: expected_scores(*day1, body)}
    results, stop = [], threading.Event()

    with ServerProcess(tmp_path, "--poll-seconds", "0.2") as server:
        def client_loop():
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    answer = client.post(f"{server.url}/v1/models/apps:rank", json=body)
                    results.append((threading.get_ident(), answer.status_code,
                                    answer.json() if answer.status_code == 200 else answer.text))

        threads = [threading.Thread(target=client_loop) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        save_version(tmp_path, "apps", 2, *day1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
                r[1] == 200 and r[2]["model_version"] == 2 for r in results[-20:]):
            time.sleep(0.2)
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join()
        status = httpx.get(f"{server.url}/v1/models/apps").json()

    failed = [r for r in results if r[1] != 200]
    assert failed == [] and len(results) > 50
    versions = [r[2]["model_version"] for r in results]
    assert set(versions) == {1, 2}
    for _, _, answer in results:   # every answer is entirely one version's
        scores = np.zeros(40)
        scores[[c["index"] for c in answer["ranked"]]] = [c["score"] for c in answer["ranked"]]
        np.testing.assert_allclose(scores, by_version[answer["model_version"]], rtol=1e-5,
                                   atol=1e-5)
    for thread_id in {r[0] for r in results}:   # once a client saw 2, it never sees 1 again
        seen = [r[2]["model_version"] for r in results if r[0] == thread_id]
        assert seen == sorted(seen)
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("model_base")
    spec, model = train(seed=0, epochs=2)
    save_version(base, "apps", 1, spec, model)
    # started through the command line: ``widedeep serve``
    with ServerProcess(base, "--poll-seconds", "0.2", "--max-body-bytes", "50000",
                       command=("-m", "widedeep", "serve")) as running:
        running.model = (spec, model)
        yield running


def test_a_version_with_nan_weights_is_refused_and_the_old_one_keeps_serving(server):
    spec, model = server.model
    broken = copy.deepcopy(model)
    broken.wide_.params["impression_app"][3] = np.nan
    save_version(server.base, "apps", 2, spec, broken)
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/v1/models/apps").json()["model_version_status"]
        if status[0]["version"] == "2" and status[0]["state"] == "REFUSED":
            break
        time.sleep(0.2)
    assert status[0]["state"] == "REFUSED"
    assert "non-finite weights" in status[0]["status"]["error_message"]
    assert "wide/impression_app" in status[0]["reasons"][0]
    answer = httpx.post(f"{server.url}/v1/models/apps:rank",
                        json=rank_body(np.random.default_rng(1), 5))
    assert answer.status_code == 200 and answer.json()["model_version"] == 1
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'widedeep_versions_refused_total{model="apps"} 1' in metrics


def test_oversized_bodies_get_413_with_or_without_a_length(server):
    big = json.dumps({**rank_body(np.random.default_rng(2), 5), "pad": "x" * 60_000}).encode()
    answer = httpx.post(f"{server.url}/v1/models/apps:rank", content=big)
    assert answer.status_code == 413 and answer.json()["field"] == "body"

    def chunks():   # no Content-Length: the limit is enforced while reading
        for start in range(0, len(big), 4096):
            yield big[start:start + 4096]
    answer = httpx.post(f"{server.url}/v1/models/apps:rank", content=chunks())
    assert answer.status_code == 413
    assert server.alive()


def test_malformed_and_hostile_requests_never_harm_the_server(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/v1/models/apps:rank", content=b"\xff\xfe{").status_code == 400
        deep = b"[" * 100_000 + b"]" * 100_000
        assert client.post("/v1/models/apps:rank", content=deep[:49_000]).status_code == 400
        assert client.post("/v1/models/..%2F..%2Fetc:rank", json={}).status_code == 400
        assert client.post("/v1/models/apps:predict",
                           json={"instances": [{"age": "x"}]}).status_code == 400
        assert client.get("/v1/models/apps/versions/99999999999999999999").status_code == 400
        good = client.post("/v1/models/apps:rank", json=rank_body(np.random.default_rng(3), 3))
        assert good.status_code == 200
    assert server.alive()

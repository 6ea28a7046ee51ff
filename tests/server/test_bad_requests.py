"""Bad requests get a 4xx JSON error naming the field, and the server keeps serving."""
import json

import numpy as np
import pytest
from server_world import rank_body, save_version, train

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from widedeep.server import ServerConfig, ServerLimits, create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    base = tmp_path_factory.mktemp("model_base")
    spec, model = train(epochs=1)
    save_version(base, "apps", 1, spec, model, n_warmup=0)
    limits = ServerLimits(max_body_bytes=20_000, max_candidates=50, max_string_length=20,
                          max_bag_length=5, max_top_k=10, max_instances=20)
    with TestClient(create_app(ServerConfig(str(base), poll_seconds=0, limits=limits))) as c:
        yield c


def good():
    return rank_body(np.random.default_rng(0), 4)


def with_query(**changes):
    body = good()
    body["query"].update(changes)
    return body


def without_query(column):
    body = good()
    del body["query"][column]
    return body


CASES = {
    "malformed JSON": (b'{"query": ', 400, None),
    "not an object": (b"[1, 2]", 400, None),
    "NaN literal": (b'{"query": {"age": NaN}, "candidates": {}}', 400, None),
    "unknown top-level key": ({**good(), "user": 1}, 400, "user"),
    "missing candidates": ({"query": good()["query"]}, 400, "candidates"),
    "missing column": (without_query("age"), 400, "request.age"),
    "extra column": (with_query(color="red"), 400, "query.color"),
    "column in query and candidates": (
        {**good(), "candidates": {"impression_app": ["app1"], "age": [3.0]}}, 400,
        "candidates.age"),
    "string where a number is expected": (with_query(age="old"), 400, "query.age[0]"),
    "boolean where a number is expected": (with_query(age=True), 400, "query.age[0]"),
    "object as a category": (with_query(country={"a": 1}), 400, "query.country[0]"),
    "nested list in a bag": (with_query(installed_apps=[["app1"]]), 400,
                             "query.installed_apps[][0]"),
    "over-long string": (with_query(country="x" * 21), 400, "query.country[0]"),
    "bag over the limit": (with_query(installed_apps=["app1"] * 6), 400,
                           "query.installed_apps[0]"),
    "empty candidates": ({**good(), "candidates": {"impression_app": []}}, 400, "candidates"),
    "empty candidate rows": ({**good(), "candidates": []}, 400, "candidates"),
    "too many candidates": ({**good(), "candidates": {"impression_app": ["app1"] * 51}}, 400,
                            "candidates"),
    "ragged candidate columns": ({**good(), "query": {"installed_apps": ["app1"],
                                                      "country": "US"},
                                  "candidates": {"impression_app": ["app1", "app2"],
                                                 "age": [30.0]}}, 400, "candidates"),
    "candidate rows with different keys": (
        {**good(), "candidates": [{"impression_app": "app1"}, {"impression_ap": "app2"}]},
        400, "candidates[1].impression_ap"),
    "top_k not an integer": ({**good(), "top_k": "3"}, 400, "top_k"),
    "top_k over the limit": ({**good(), "top_k": 11}, 400, "top_k"),
    "explain not a boolean": ({**good(), "explain": 1}, 400, "explain"),
    "missing number without default": (with_query(age=None), 400, None),
    "body over the size limit": (json.dumps({**good(), "pad": "x" * 30_000}).encode(), 413,
                                 "body"),
    # a lone surrogate is legal JSON but no UTF-8: the error echoing it is written escaped
    "column name with a lone surrogate": (
        b'{"query": {"\\ud800": "x"}, "candidates": {"impression_app": ["a"]}}', 400,
        "query.\ud800"),
    "top-level key with a lone surrogate": (b'{"query\\udc00": 1}', 400, "query\udc00"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_rank_request_is_a_4xx_naming_the_field(client, case):
    body, status, field = CASES[case]
    answer = client.post("/v1/models/apps:rank",
                         content=body if isinstance(body, bytes) else json.dumps(body))
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert set(error) == {"error", "field"} and error["error"]
    assert error["field"] == field
    # and the server still serves
    assert client.post("/v1/models/apps:rank", json=good()).status_code == 200


PREDICT_CASES = {
    "both instances and inputs": ({"instances": [], "inputs": {}}, "instances"),
    "neither": ({"signature_name": "x"}, "instances"),
    "instances not a list": ({"instances": {"age": [1]}}, "instances"),
    "no rows": ({"instances": []}, "instances"),
    "row missing a column": ({"instances": [{"age": 3.0}]}, "instances.installed_apps"),
    "too many rows": ({"inputs": {"installed_apps": [["app1"]] * 21,
                                  "impression_app": ["app1"] * 21, "country": ["US"] * 21,
                                  "age": [30.0] * 21}}, "inputs"),
    "column not a list": ({"inputs": {"age": 3}}, "inputs.age"),
}


@pytest.mark.parametrize("case", sorted(PREDICT_CASES))
def test_bad_predict_request_is_a_400_naming_the_field(client, case):
    body, field = PREDICT_CASES[case]
    answer = client.post("/v1/models/apps:predict", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field


@pytest.mark.parametrize("path,status,field", [
    ("/v1/models/nope:rank", 404, "name"),
    ("/v1/models/apps/versions/2:rank", 404, "version"),
    ("/v1/models/apps/versions/x1:rank", 400, "version"),
    ("/v1/models/apps/versions/0:rank", 400, "version"),
    ("/v1/models/..%2F..%2Fetc%2Fpasswd:rank", 400, "name"),
    ("/v1/models/apps%2F..%2F..:rank", 400, "name"),
    ("/v1/models/apps/../../secret:rank", 404, "path"),   # the client resolves the dots
    ("/v1/models/apps:classify", 404, "path"),
    ("/v1/models/%00:rank", 400, "name"),
])
def test_unknown_model_version_method_or_path_characters_are_refused(client, path, status,
                                                                     field):
    answer = client.post(path, json=good())
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field


def test_unknown_route_and_wrong_method_answer_json(client):
    missing = client.get("/v2/anything")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = client.get("/v1/models/apps:rank")
    assert wrong.status_code == 405 and "POST" in wrong.json()["error"]

"""What the model endpoints answer, built on a scoring thread (never on the event loop).

`rank` and `predict` take a request's body bytes and the `LoadedVersion` it runs on and
return the answer's UTF-8 JSON bytes, raising `RequestError` (4xx, naming the field) for a
bad request; `status` and `metadata` return the JSON-able answers of the GET endpoints.
No answer loops over the candidates in Python: scores become lists by ``tolist`` and the
records by ``map``/``zip``.
"""
from __future__ import annotations

import math
from itertools import repeat

import numpy as np

from ..losses import sigmoid
from ..serving import explain
from ..serving.request import expand_columns
from . import json_codec
from .errors import RequestError
from .request_body import parse_json, parse_predict, parse_rank

__all__ = ["rank", "parse_rank_body", "ranker_of", "rank_parsed", "rank_answer", "predict",
           "status", "metadata", "json_bytes"]


def transform_error(error):
    return RequestError(400, f"the model cannot read the request: {error}")


def rank(loaded, body, limits, repository):
    """The JSON answer of a ``:rank`` body ranked by ``loaded``; the parsed request is kept
    as live warm-up (`ModelRepository.record`)."""
    return rank_parsed(loaded, parse_rank_body(loaded, body, limits), limits, repository)


def parse_rank_body(loaded, body, limits):
    """The `RankRequest` of a ``:rank`` body, checked against ``loaded``'s columns."""
    return parse_rank(parse_json(body), loaded.kinds, limits)


def ranker_of(loaded, request):
    """The `Ranker` of ``loaded`` that ranks ``request`` (its ``target_class``'s)."""
    try:
        return loaded.ranker(request.target_class)
    except KeyError as error:
        raise RequestError(400, f"target_class: {error.args[0]}", "target_class") from None


def rank_parsed(loaded, request, limits, repository):
    """`rank` of a request already parsed (`parse_rank_body`)."""
    ranker = ranker_of(loaded, request)
    try:
        result = ranker.rank({"query": request.query, "candidates": request.candidates},
                             top_k=request.top_k)
    except (ValueError, TypeError) as error:
        raise transform_error(error) from None
    answer = rank_answer(loaded, request, result, limits)
    repository.record(loaded.name, request)
    return answer


def rank_answer(loaded, request, result, limits):
    """The UTF-8 JSON answer of a ranked `RankRequest` (`RankingResult` ``result``)."""
    top = result.top_k
    scores = result.scores[top].astype(np.float64)
    entries = {"index": top.tolist(), "score": _json_numbers(scores)}
    if _objective(loaded.estimator) == "binary":   # the score is a logit
        entries["probability"] = _json_numbers(sigmoid(scores))
    answer = {"model_version": loaded.version, "n_candidates": request.n_candidates,
              "ranked": _records(entries)}
    if request.explain:
        answer["explanations"] = [
            _explanation(loaded, request, int(i)) for i in top[:limits.max_explain].tolist()]
    return json_bytes(answer)


def _explanation(loaded, request, index):
    row = expand_columns(request.query, request.candidates, rows=[index])
    result = explain(loaded.estimator, row, loaded.spec)
    return {"index": index, "logit": _finite(result.logit), "bias": _finite(result.bias),
            "deep_logit": _finite(result.deep_logit),
            "wide": [{"field": c.field, "token": c.token, "value": _finite(c.value),
                      "weight": _finite(c.weight), "contribution": _finite(c.contribution)}
                     for c in result.wide_contributions]}


def predict(loaded, body, limits, repository):
    """The JSON answer of a ``:predict`` body, per objective."""
    columns, _ = parse_predict(parse_json(body), loaded.kinds, limits)
    estimator = loaded.estimator
    try:
        features = loaded.spec.transform(columns)
        # regression: the predicted value; binary: P(y = 1) [n]; multiclass: [n, K]
        predictions = estimator.predict(features) if _objective(estimator) == "regression" \
            else estimator.predict_proba(features)
    except (ValueError, TypeError) as error:
        raise transform_error(error) from None
    predictions = np.asarray(predictions, np.float64)
    return json_bytes({"predictions": _json_numbers(predictions),
                        "model_version": loaded.version})


def _objective(estimator):
    """The estimator's objective ("binary" for estimators that predate objectives)."""
    return getattr(estimator, "objective", "binary")


def _json_numbers(values):
    """``values`` (a float array of any shape) as nested lists of Python floats, with
    None for NaN/inf (which JSON cannot carry); converted by NumPy, not per value."""
    finite = np.isfinite(values)
    if finite.all():
        return values.tolist()
    values = values.astype(object)
    values[~finite] = None
    return values.tolist()


def _records(columns):
    """``[{key: columns[key][i], ...} for each i]``, built by ``map``/``zip``/``dict`` (C
    loops, no Python-level loop over the candidates)."""
    keys = tuple(columns)
    return list(map(dict, map(zip, repeat(keys), zip(*columns.values()))))


def json_bytes(answer):
    """The UTF-8 JSON of an answer (encoded on the scoring thread, not the event loop; by
    orjson when installed: `widedeep.server.json_codec`)."""
    return json_codec.dumps(answer)


def _finite(value):
    """A JSON number, or null for NaN/inf (which JSON cannot carry)."""
    value = float(value)
    return value if math.isfinite(value) else None


def status(repository, name, version):
    """TF Serving's ``model_version_status`` of ``name`` (one version, or all)."""
    statuses = repository.status(name)
    if version is not None:
        statuses = [s for s in statuses if s.version == version]
        if not statuses:
            raise RequestError(404, f"model {name!r} has no version {version}", "version")
    return {"model_version_status": [
        {"version": str(s.version), "state": s.state,
         "status": {"error_code": "OK" if s.state != "REFUSED" else "FAILED_PRECONDITION",
                    "error_message": "; ".join(s.reasons)},
         "reasons": s.reasons, "notes": s.notes, "details": _json_safe(s.details)}
        for s in statuses], "pinned_version": repository.pinned(name)}


def metadata(loaded):
    """The served version's columns, estimator, objective, sizes and config."""
    config = loaded.estimator.get_config()
    return {"model_spec": {"name": loaded.name, "version": str(loaded.version)},
            "metadata": {"estimator": type(loaded.estimator).__name__,
                         "objective": _objective(loaded.estimator),
                         "columns": loaded.kinds,
                         "sizes": _json_safe(loaded.spec.estimator_params()),
                         "config": _json_safe(config)}}


def _json_safe(value):
    """``value`` with NumPy scalars as Python numbers, NaN/inf as None, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)

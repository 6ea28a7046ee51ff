"""The ASGI app (Starlette): TensorFlow Serving's REST API for widedeep models.

==========================================================  ====================================
``POST /v1/models/{name}[/versions/{v}]:rank``              rank one query's candidates
``POST /v1/models/{name}[/versions/{v}]:predict``           predictions of rows (TF Serving format)
``GET  /v1/models/{name}[/versions/{v}]``                   version status (refused: reasons)
``GET  /v1/models/{name}[/versions/{v}]/metadata``          columns, estimator, sizes
``GET  /healthz``, ``GET /readyz``                          alive; every model has a version
``GET  /metrics``                                           Prometheus text format
``POST /v1/admin/poll``, ``POST /v1/admin/models/{name}/pin``  only with ``enable_admin``
==========================================================  ====================================

A request takes the serving `LoadedVersion` once and is parsed and scored with it on the
`ScoringPool`, so the event loop only reads bodies and writes answers, and a swap never
splits a request. Every error is JSON ``{"error", "field"}`` with a 4xx status (5xx only for
an internal fault, which is logged; the server keeps serving).
"""
from __future__ import annotations

import json
import logging
import math
import time
from itertools import repeat

import numpy as np

from ..losses import sigmoid
from ..serving import explain
from ..serving.request import expand_columns
from .config import CONFIG_ENVIRONMENT_VARIABLE, ServerConfig
from .errors import RequestError
from .limits import check_name
from .metrics import ServerMetrics
from .pool import ScoringPool
from .request_body import parse_json, parse_predict, parse_rank
from .versions import ModelRepository

__all__ = ["create_app", "app_from_environment"]

logger = logging.getLogger("widedeep")


def create_app(config, repository=None):
    """The Starlette app serving ``config.model_base`` (polling starts with the app)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    metrics = ServerMetrics(config.metrics_dir)
    limits = config.limits
    if repository is None:
        repository = ModelRepository(config.model_base, limits=limits, gate=config.gate,
                                     n_threads=config.ranker_threads, metrics=metrics,
                                     pins=config.pins)
    else:
        repository.metrics = metrics
    pool = ScoringPool(limits.max_concurrent, limits.max_queued)

    def error_response(error):
        return JSONResponse(error.to_json(), status_code=error.status)

    async def models(request):
        started = time.perf_counter()
        label, served, endpoint = "unknown", "none", "status"
        try:
            name, version, action = _parse_model_path(request.path_params["rest"])
            endpoint = action if action in ("rank", "predict", "metadata") else "status"
            if not check_name(name):
                raise RequestError(400, f"invalid model name {name[:80]!r}: letters, digits, '_', "
                                        f"'-', '.' only", "name")
            if name not in repository.names():
                raise RequestError(404, f"unknown model {name!r}; known: "
                                        f"{repository.names()}", "name")
            label = name
            if action not in (None, "rank", "predict", "metadata"):
                raise RequestError(404, f"unknown method :{action[:40]}; expected :rank or "
                                        f":predict", "path")
            if action in ("rank", "predict"):
                if request.method != "POST":
                    raise RequestError(405, f":{action} takes POST")
                body = await _read_body(request, limits.max_body_bytes)
                loaded = repository.acquire(name)
                if loaded is None:
                    raise RequestError(503, f"model {name!r} has no version ready to serve")
                try:
                    served = loaded.version
                    if version is not None and version != loaded.version:
                        raise RequestError(404, f"version {version} of {name!r} is not being "
                                                f"served (serving {loaded.version})", "version")
                    function = _rank if action == "rank" else _predict
                    content = await pool.run(function, loaded, body, limits, repository)
                finally:
                    loaded.release()
                answer = None
            elif request.method != "GET":
                raise RequestError(405, "model status and metadata take GET")
            elif action == "metadata":
                endpoint = "metadata"
                loaded = repository.serving(name)
                if loaded is None or (version is not None and version != loaded.version):
                    raise RequestError(404, f"no metadata: version {version or '(latest)'} of "
                                            f"{name!r} is not being served", "version")
                served = loaded.version
                answer = _metadata(loaded)
            else:
                answer = _status(repository, name, version)
            response = JSONResponse(answer) if answer is not None else \
                Response(content, media_type="application/json")
        except RequestError as error:
            response = error_response(error)
        except Exception:   # never crash on a request: log it, answer 500
            logger.exception("internal error answering %s", request.url.path)
            response = JSONResponse({"error": "internal server error", "field": None},
                                    status_code=500)
        metrics.observe_request(label, served, endpoint, response.status_code,
                                time.perf_counter() - started)
        return response

    async def healthz(request):
        return JSONResponse({"status": "ok"})

    async def readyz(request):
        names = repository.names()
        serving = {n: (v.version if (v := repository.serving(n)) else None) for n in names}
        ready = bool(names) and all(v is not None for v in serving.values())
        return JSONResponse({"ready": ready, "models": serving},
                            status_code=200 if ready else 503)

    async def metrics_page(request):
        return PlainTextResponse(metrics.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    async def admin_poll(request):
        await _in_thread(repository.poll)
        return JSONResponse({name: _status(repository, name, None) for name in
                             repository.names()})

    async def admin_pin(request):
        name = request.path_params["name"]
        try:
            if not check_name(name) or name not in repository.names():
                raise RequestError(404, f"unknown model {name!r}", "name")
            data = parse_json(await _read_body(request, limits.max_body_bytes))
            version = data.get("version")
            if version is not None and (type(version) is not int or version < 1):
                raise RequestError(400, "version: expected a positive integer or null",
                                   "version")
            await _in_thread(repository.pin, name, version)
            return JSONResponse(_status(repository, name, None))
        except RequestError as error:
            return error_response(error)

    async def http_error(request, error):
        return JSONResponse({"error": error.detail, "field": "path"},
                            status_code=error.status_code)

    routes = [Route("/v1/models/{rest:path}", models, methods=["GET", "POST"]),
              Route("/healthz", healthz), Route("/readyz", readyz),
              Route("/metrics", metrics_page)]
    if config.enable_admin:
        routes += [Route("/v1/admin/poll", admin_poll, methods=["POST"]),
                   Route("/v1/admin/models/{name}/pin", admin_pin, methods=["POST"])]

    async def lifespan(app):
        await _in_thread(repository.start, config.poll_seconds)
        for name in repository.names():
            loaded = repository.serving(name)
            metrics.set_served(name, loaded.version if loaded is not None else -1)
        metrics.start_flushing()
        yield
        await _in_thread(repository.stop)
        pool.close()
        metrics.stop_flushing()

    app = Starlette(routes=routes, lifespan=_asynccontextmanager(lifespan),
                    exception_handlers={HTTPException: http_error})
    app.state.repository = repository
    app.state.metrics = metrics
    return app


def app_from_environment():
    """The app of the `ServerConfig` in ``$WIDEDEEP_SERVE_CONFIG`` (uvicorn workers)."""
    import os
    return create_app(ServerConfig.from_json(os.environ[CONFIG_ENVIRONMENT_VARIABLE]))


# ---------------------------------------------------------------------- request helpers
def _parse_model_path(rest):
    """``(name, version or None, action or None)`` of ``name[/versions/v][:verb|/metadata]``."""
    action = None
    if rest.endswith("/metadata"):
        rest, action = rest[:-len("/metadata")], "metadata"
    elif ":" in rest:
        rest, action = rest.rsplit(":", 1)
    parts = rest.split("/")
    if len(parts) == 1:
        return parts[0], None, action
    if len(parts) == 3 and parts[1] == "versions":
        if not (parts[2].isascii() and parts[2].isdigit() and 0 < int(parts[2]) < 2 ** 63):
            raise RequestError(400, f"invalid version {parts[2][:80]!r}: expected a positive "
                                    f"integer", "version")
        return parts[0], int(parts[2]), action
    return "/".join(parts), None, action   # refused by check_name (contains "/")


async def _read_body(request, limit):
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestError(413, f"body of {length} bytes exceeds the limit of {limit} bytes "
                                f"(max_body_bytes)", "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body exceeds the limit of {limit} bytes "
                                    f"(max_body_bytes)", "body")
        chunks.append(chunk)
    return b"".join(chunks)


async def _in_thread(function, *args):
    import asyncio
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _asynccontextmanager(function):
    from contextlib import asynccontextmanager
    return asynccontextmanager(function)


# ---------------------------------------------------------------------- answers
def _transform_error(error):
    return RequestError(400, f"the model cannot read the request: {error}")


def _rank(loaded, body, limits, repository):
    request = parse_rank(parse_json(body), loaded.kinds, limits)
    columns = {"query": request.query, "candidates": request.candidates}
    try:
        ranker = loaded.ranker(request.target_class)
    except KeyError as error:
        raise RequestError(400, f"target_class: {error.args[0]}", "target_class") from None
    try:
        result = ranker.rank(columns, top_k=request.top_k)
    except (ValueError, TypeError) as error:
        raise _transform_error(error) from None
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
    repository.record(loaded.name, request)
    return _json_bytes(answer)


def _explanation(loaded, request, index):
    row = expand_columns(request.query, request.candidates, rows=[index])
    result = explain(loaded.estimator, row, loaded.spec)
    return {"index": index, "logit": _finite(result.logit), "bias": _finite(result.bias),
            "deep_logit": _finite(result.deep_logit),
            "wide": [{"field": c.field, "token": c.token, "value": _finite(c.value),
                      "weight": _finite(c.weight), "contribution": _finite(c.contribution)}
                     for c in result.wide_contributions]}


def _predict(loaded, body, limits, repository):
    columns, _ = parse_predict(parse_json(body), loaded.kinds, limits)
    estimator = loaded.estimator
    try:
        features = loaded.spec.transform(columns)
        # regression: the predicted value; binary: P(y = 1) [n]; multiclass: [n, K]
        predictions = estimator.predict(features) if _objective(estimator) == "regression" \
            else estimator.predict_proba(features)
    except (ValueError, TypeError) as error:
        raise _transform_error(error) from None
    predictions = np.asarray(predictions, np.float64)
    return _json_bytes({"predictions": _json_numbers(predictions),
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


def _json_bytes(answer):
    """The UTF-8 JSON of an answer (encoded on the scoring thread, not the event loop)."""
    return json.dumps(answer, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def _finite(value):
    """A JSON number, or null for NaN/inf (which JSON cannot carry)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _status(repository, name, version):
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


def _metadata(loaded):
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

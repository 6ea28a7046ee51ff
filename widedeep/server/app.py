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

The ``/v1/models/...`` endpoints are a plain ASGI app in front of Starlette
(`widedeep.server.model_routes`: no Request/Response objects on the hot path); their answers
are built on the scoring threads (`widedeep.server.answers`). Every error is JSON
``{"error", "field"}`` with a 4xx status (5xx only for an internal fault, which is logged;
the server keeps serving).
"""
from __future__ import annotations

import logging

from . import answers
from .config import CONFIG_ENVIRONMENT_VARIABLE, ServerConfig
from .errors import RequestError
from .limits import check_name
from .metrics import ServerMetrics
from .model_routes import ModelRoutes, read_body
from .pool import ScoringPool
from .request_body import parse_json
from .versions import ModelRepository

__all__ = ["create_app", "app_from_environment"]

logger = logging.getLogger("widedeep")


def create_app(config, repository=None):
    """The ASGI app serving ``config.model_base`` (polling starts with its lifespan): the
    `ModelRoutes` of ``/v1/models/...`` in front of a Starlette app for the rest."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    metrics = ServerMetrics(config.metrics_dir)
    limits = config.limits
    if repository is None:
        repository = ModelRepository(config.model_base, limits=limits, gate=config.gate,
                                     n_threads=config.ranker_threads, metrics=metrics,
                                     pins=config.pins)
    else:
        repository.metrics = metrics
    pool = ScoringPool(limits.max_concurrent, limits.max_queued,
                       config.batching.batch_max_rows, config.batching.batch_wait_ms / 1e3)

    def error_response(error):
        return JSONResponse(error.to_json(), status_code=error.status)

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
        return JSONResponse({name: answers.status(repository, name, None) for name in
                             repository.names()})

    async def admin_pin(request):
        name = request.path_params["name"]
        try:
            if not check_name(name) or name not in repository.names():
                raise RequestError(404, f"unknown model {name!r}", "name")
            data = parse_json(await read_body(request.scope, request.receive,
                                              limits.max_body_bytes))
            version = data.get("version")
            if version is not None and (type(version) is not int or version < 1):
                raise RequestError(400, "version: expected a positive integer or null",
                                   "version")
            await _in_thread(repository.pin, name, version)
            return JSONResponse(answers.status(repository, name, None))
        except RequestError as error:
            return error_response(error)

    async def http_error(request, error):
        return JSONResponse({"error": error.detail, "field": "path"},
                            status_code=error.status_code)

    routes = [Route("/healthz", healthz), Route("/readyz", readyz),
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
    return ModelRoutes(app, repository, pool, metrics, limits)


def app_from_environment():
    """The app of the `ServerConfig` in ``$WIDEDEEP_SERVE_CONFIG`` (uvicorn workers)."""
    import os
    return create_app(ServerConfig.from_json(os.environ[CONFIG_ENVIRONMENT_VARIABLE]))


async def _in_thread(function, *args):
    import asyncio
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _asynccontextmanager(function):
    from contextlib import asynccontextmanager
    return asynccontextmanager(function)

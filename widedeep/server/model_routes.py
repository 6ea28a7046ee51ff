"""`ModelRoutes`: the ``/v1/models/...`` endpoints as a plain ASGI app, in front of Starlette.

These are the hot endpoints (``:rank``, ``:predict``), so they skip Starlette's routing and
its ``Request``/``Response`` objects: the path is split once, the body read straight from
``receive``, the answer (bytes built on the scoring thread) sent as two ASGI messages.
Everything else (health, readiness, metrics, admin, lifespan, 404s) goes to the Starlette
app behind. A request takes the serving `LoadedVersion` once and is parsed and scored with
it on the `ScoringPool`, so a swap never splits a request (a ``:rank`` request is a
`RankJob`, batched with the ``:rank`` requests of the same version queued with it).
"""
from __future__ import annotations

import logging
import time

from . import answers
from .batching import RankJob
from .errors import RequestError
from .limits import check_name

__all__ = ["ModelRoutes", "read_body", "parse_model_path"]

logger = logging.getLogger("widedeep")

PREFIX = "/v1/models/"
_JSON_HEADERS = [(b"content-type", b"application/json")]


class ModelRoutes:
    """ASGI app answering every HTTP request whose path starts with ``/v1/models/``;
    other requests and the lifespan go to ``app``.

    ``repository``: the `ModelRepository`; ``pool``: the `ScoringPool`; ``metrics``: the
    `ServerMetrics` each answer is counted in; ``limits``: the `ServerLimits`."""

    def __init__(self, app, repository, pool, metrics, limits):
        self.app, self.repository, self.pool = app, repository, pool
        self.metrics, self.limits = metrics, limits
        self.state = app.state

    async def __call__(self, scope, receive, send):
        path = scope["path"] if scope["type"] == "http" else ""
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        label, served, endpoint = "unknown", "none", "status"
        try:
            name, version, action = parse_model_path(path[len(PREFIX):])
            endpoint = action if action in ("rank", "predict", "metadata") else "status"
            label = self._check_model(name)
            if action not in (None, "rank", "predict", "metadata"):
                raise RequestError(404, f"unknown method :{action[:40]}; expected :rank or "
                                        f":predict", "path")
            if action in ("rank", "predict"):
                if scope["method"] != "POST":
                    raise RequestError(405, f":{action} takes POST")
                body = await read_body(scope, receive, self.limits.max_body_bytes)
                loaded = self.repository.acquire(name)
                if loaded is None:
                    raise RequestError(503, f"model {name!r} has no version ready to serve")
                try:
                    served = loaded.version
                    if version is not None and version != loaded.version:
                        raise RequestError(404, f"version {version} of {name!r} is not being "
                                                f"served (serving {loaded.version})", "version")
                    if action == "rank":   # batched with other :rank requests when queued
                        content = await self.pool.run_job(
                            RankJob(loaded, body, self.limits, self.repository))
                    else:
                        content = await self.pool.run(answers.predict, loaded, body,
                                                      self.limits, self.repository)
                finally:
                    loaded.release()
            elif scope["method"] != "GET":
                raise RequestError(405, "model status and metadata take GET")
            elif action == "metadata":
                loaded = self.repository.serving(name)
                if loaded is None or (version is not None and version != loaded.version):
                    raise RequestError(404, f"no metadata: version {version or '(latest)'} of "
                                            f"{name!r} is not being served", "version")
                served, content = loaded.version, answers.json_bytes(answers.metadata(loaded))
            else:
                content = answers.json_bytes(answers.status(self.repository, name, version))
            code = 200
        except RequestError as error:
            code, content = error.status, answers.json_bytes(error.to_json())
        except ClientDisconnected:   # nobody to answer
            return
        except Exception:   # never crash on a request: log it, answer 500
            logger.exception("internal error answering %s", path)
            code, content = 500, b'{"error":"internal server error","field":null}'
        await send({"type": "http.response.start", "status": code,
                    "headers": _JSON_HEADERS + [(b"content-length", b"%d" % len(content))]})
        await send({"type": "http.response.body", "body": content})
        self.metrics.observe_request(label, served, endpoint, code,
                                     time.perf_counter() - started)

    def _check_model(self, name):
        if not check_name(name):
            raise RequestError(400, f"invalid model name {name[:80]!r}: letters, digits, '_', "
                                    f"'-', '.' only", "name")
        names = self.repository.names()
        if name not in names:
            raise RequestError(404, f"unknown model {name!r}; known: {names}", "name")
        return name


def parse_model_path(rest):
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


class ClientDisconnected(Exception):
    """The client went away before its body was read: nobody to answer."""


async def read_body(scope, receive, limit):
    """The request body from the ASGI ``receive`` channel; 413 (`RequestError`) once it is
    known to exceed ``limit`` bytes (from ``content-length``, or while streaming)."""
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise RequestError(413, f"body of {int(value)} bytes exceeds the limit of {limit} "
                                    f"bytes (max_body_bytes)", "body")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"body exceeds the limit of {limit} bytes "
                                    f"(max_body_bytes)", "body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)

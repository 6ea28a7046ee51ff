"""The model server: ``widedeep serve MODEL_BASE --port 8501`` (extra ``widedeep[serve]``).

TensorFlow Serving's REST API over versioned widedeep models: ``:rank`` and ``:predict``,
model status and metadata, health, readiness and Prometheus metrics; new versions under
``MODEL_BASE/{name}/{version}/`` are polled, gated (weights, dry run, quality against the
serving version) and swapped in atomically.

- ``app.py``: the Starlette app and its endpoints;
- ``versions.py``: polling, loading, the atomic swap, pins (rollback);
- ``gate.py``: the checks a new version passes, and `store_gate_data`;
- ``request_body.py`` / ``json_columns.py``: request JSON to raw columns, checked;
- ``pool.py`` / ``batching.py``: the scoring threads, and queued ``:rank`` requests
  ranked together in one call (request batching);
- ``limits.py``, ``errors.py``, ``metrics.py``, ``config.py``, ``main.py``.

Only ``create_app`` and ``main`` need Starlette/uvicorn; the rest is NumPy.
"""
from .config import ServerConfig
from .gate import GateSettings, store_gate_data
from .limits import ServerLimits
from .main import main
from .versions import ModelRepository

__all__ = ["ServerConfig", "ServerLimits", "GateSettings", "ModelRepository",
           "store_gate_data", "create_app", "main"]


def create_app(config, repository=None):
    """The ASGI app (see `widedeep.server.app.create_app`)."""
    from .app import create_app as build
    return build(config, repository)

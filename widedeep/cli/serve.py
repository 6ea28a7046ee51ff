"""``widedeep serve MODEL_BASE --port 8501``: serve the versioned models of a base path over
HTTP (TensorFlow Serving's REST API; needs the ``serve`` extra:
``pip install "widedeep[serve]"``).

``MODEL_BASE/{name}/{version}/`` folders hold saved models (``save_model(..., spec=spec)``);
new versions are polled, gated and swapped in atomically. Endpoints, limits and the gate:
see ``widedeep.server`` and the README's "Serving" section. Binds 127.0.0.1 unless
``--host`` says otherwise.
"""
from __future__ import annotations

from ..server.main import build_parser, config_from_args, serve
from .errors import CliError

HELP = "serve versioned models over HTTP (:rank, :predict, status, metrics)"


def add_arguments(parser):
    build_parser(parser)


def run(args):
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise CliError('widedeep serve needs the serve extra: pip install "widedeep[serve]"') \
            from None
    return serve(config_from_args(args), args.log_level)

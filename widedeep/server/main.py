"""``widedeep serve MODEL_BASE [--port 8501] ...``: run the model server with uvicorn.

Every request limit (`ServerLimits`) and gate setting (`GateSettings`) is an option; see
``--help``. The server binds 127.0.0.1 unless ``--host`` says otherwise.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import tempfile

from .batching import BatchSettings
from .config import CONFIG_ENVIRONMENT_VARIABLE, ServerConfig
from .gate import GateSettings
from .limits import ServerLimits

__all__ = ["main", "build_parser", "config_from_args"]


def build_parser(parser=None):
    """The argument parser of ``serve`` (fills ``parser`` when given, e.g. a subcommand)."""
    parser = parser or argparse.ArgumentParser(
        prog="widedeep serve", description="Serve versioned widedeep models over HTTP "
                                           "(TensorFlow Serving's REST API).")
    parser.add_argument("model_base", help="folder of MODEL_BASE/{name}/{version}/ models")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--ranker-threads", type=int, default=1,
                        help="sub-batch threads of each request's Ranker")
    parser.add_argument("--poll-seconds", type=float, default=2.0,
                        help="look for new versions this often (0: at start only)")
    parser.add_argument("--enable-admin", action="store_true",
                        help="enable POST /v1/admin/poll and /v1/admin/models/{name}/pin")
    parser.add_argument("--pin", action="append", default=[], metavar="NAME=VERSION",
                        help="serve this version of a model (rollback); repeatable")
    parser.add_argument("--metrics-dir", default=None,
                        help="folder where --workers processes share their metrics so that "
                             "every /metrics scrape sums all of them (default: a temporary "
                             "folder when --workers > 1; its old snapshots are cleared)")
    parser.add_argument("--log-level", default="info")
    for group, settings in (("request limits", ServerLimits()),
                            ("gate (new versions)", GateSettings()),
                            ("request batching", BatchSettings())):
        options = parser.add_argument_group(group)
        for item in dataclasses.fields(settings):
            default = getattr(settings, item.name)
            options.add_argument(f"--{item.name.replace('_', '-')}", type=type(default),
                                 default=default, help=f"(default {default})")
    return parser


def config_from_args(args):
    pins = {}
    for text in args.pin:
        name, _, version = text.partition("=")
        if not version.isdigit():
            raise SystemExit(f"--pin {text!r}: expected NAME=VERSION, e.g. ranker=3")
        pins[name] = int(version)
    values = vars(args)
    limits = ServerLimits(**{f.name: values[f.name] for f in dataclasses.fields(ServerLimits)})
    gate = GateSettings(**{f.name: values[f.name] for f in dataclasses.fields(GateSettings)})
    batching = BatchSettings(**{f.name: values[f.name]
                                for f in dataclasses.fields(BatchSettings)})
    return ServerConfig(model_base=os.path.abspath(args.model_base), host=args.host,
                        port=args.port, workers=args.workers, poll_seconds=args.poll_seconds,
                        enable_admin=args.enable_admin, ranker_threads=args.ranker_threads,
                        pins=pins, limits=limits, gate=gate, batching=batching,
                        metrics_dir=os.path.abspath(args.metrics_dir) if args.metrics_dir
                        else None)


def main(argv=None):
    """Parse ``argv`` and serve until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    return serve(config_from_args(args), args.log_level)


def serve(config, log_level="info"):
    import uvicorn

    if not os.path.isdir(config.model_base):
        raise SystemExit(f"{config.model_base}: no such model base folder")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    # uvicorn formats an access-log call per request whenever its logger has a handler,
    # even when the level then drops it: turned off unless the level shows it
    access_log = log_level.lower() in ("trace", "debug", "info")
    if config.metrics_dir is not None:
        clear_metrics_dir(config.metrics_dir)
    if config.workers > 1:
        temporary = None
        if config.metrics_dir is None:
            temporary = tempfile.mkdtemp(prefix="widedeep-metrics-")
            config = dataclasses.replace(config, metrics_dir=temporary)
        os.environ[CONFIG_ENVIRONMENT_VARIABLE] = config.to_json()
        try:
            _run_workers(uvicorn.Config("widedeep.server.app:app_from_environment",
                                        factory=True, host=config.host, port=config.port,
                                        workers=config.workers, log_level=log_level,
                                        access_log=access_log))
        finally:
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)
    else:
        from .app import create_app
        uvicorn.run(create_app(config), host=config.host, port=config.port,
                    log_level=log_level, access_log=access_log)
    return 0


def _run_workers(uvicorn_config):
    """``uvicorn.run`` with several worker processes, on a listening socket with
    ``TCP_NODELAY`` set (the accepted connections inherit it on Linux).

    uvicorn binds the shared socket itself with protocol 0, and asyncio then skips
    ``TCP_NODELAY`` on the connections it accepts (it sets it only for sockets whose
    protocol is ``IPPROTO_TCP``); with Nagle's algorithm on, an answer written as headers
    then body waits for the client's delayed ACK: ~40 ms more per request (measured: 63 vs
    20 ms at concurrency 1). One worker lets asyncio bind, which sets it."""
    import inspect
    import socket

    from uvicorn import Server
    from uvicorn.supervisors import Multiprocess

    listening = uvicorn_config.bind_socket()
    if listening.family in (socket.AF_INET, socket.AF_INET6):
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if "target" in inspect.signature(Multiprocess).parameters:   # uvicorn < 0.30
        Multiprocess(uvicorn_config, target=Server(uvicorn_config).run,
                     sockets=[listening]).run()
    else:
        Multiprocess(uvicorn_config, sockets=[listening]).run()


def clear_metrics_dir(folder):
    """Remove the worker snapshots of an earlier run (its counts are not this run's)."""
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("worker-") and (name.endswith(".json") or name.endswith(".tmp")):
            os.remove(os.path.join(folder, name))

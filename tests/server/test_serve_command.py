"""``widedeep serve``: its options reach the config and the scoring pool; with several
workers it listens on a socket with TCP_NODELAY (which the accepted connections inherit),
so an answer written as headers then body never waits for the client's delayed ACK."""
import importlib
import socket

import pytest

uvicorn = pytest.importorskip("uvicorn")

serve_main = importlib.import_module("widedeep.server.main")


def test_the_shared_listening_socket_has_tcp_nodelay(monkeypatch):
    seen = {}

    class FakeMultiprocess:
        def __init__(self, config, sockets, target=None):
            seen["sockets"], seen["workers"] = sockets, config.workers

        def run(self):
            (listening,) = seen["sockets"]
            seen["nodelay"] = listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            listening.listen()   # as the workers do
            client = socket.create_connection(listening.getsockname()[:2])
            accepted, _ = listening.accept()
            seen["accepted_nodelay"] = accepted.getsockopt(socket.IPPROTO_TCP,
                                                           socket.TCP_NODELAY)
            for sock in (client, accepted, listening):
                sock.close()

    monkeypatch.setattr("uvicorn.supervisors.Multiprocess", FakeMultiprocess)
    config = uvicorn.Config("widedeep.server.app:app_from_environment", factory=True,
                            host="127.0.0.1", port=0, workers=2)
    serve_main._run_workers(config)
    assert seen["workers"] == 2
    assert seen["nodelay"] == 1 and seen["accepted_nodelay"] == 1


def test_scoring_threads_and_batching_options_reach_the_config_and_the_pool(tmp_path):
    from widedeep.server import ServerConfig, create_app
    from widedeep.server.batching import BatchSettings

    args = serve_main.build_parser().parse_args(
        [str(tmp_path), "--max-concurrent", "3", "--batch-max-rows", "0",
         "--batch-wait-ms", "2.5"])
    config = serve_main.config_from_args(args)
    assert config.batching == BatchSettings(batch_max_rows=0, batch_wait_ms=2.5)
    assert config.limits.max_concurrent == 3
    assert ServerConfig.from_json(config.to_json()) == config   # what --workers pass on
    pool = create_app(config).pool
    assert (pool.batch_max_rows, pool.batch_wait_seconds, pool._n_threads) == (0, 0.0025, 3)

"""``widedeep serve`` with several workers listens on a socket with TCP_NODELAY (which the
accepted connections inherit), so an answer written as headers then body never waits for
the client's delayed ACK."""
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

"""Start ``python -m widedeep.server`` as a real subprocess on a free loopback port."""
import os
import socket
import subprocess
import sys
import time

import httpx


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """``with ServerProcess(base, "--poll-seconds", "0.2") as server: server.url``."""

    def __init__(self, base, *options, ready_timeout=90,
                 command=("-m", "widedeep.server")):
        self.base, self.options, self.ready_timeout = str(base), options, ready_timeout
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, *self.command, self.base, "--port", str(self.port),
             "--log-level", "warning", *self.options],
            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stdout.read().decode()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("server not ready in time")

    def __exit__(self, *exc_info):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self):
        return self.process.poll() is None

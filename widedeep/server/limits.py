"""`ServerLimits`: every bound the model server puts on a request, in one place.

A request over a limit is answered with a 4xx JSON error naming the limit and the field; no
request can make the server allocate much more than ``max_body_bytes`` of JSON allows. Each
limit is a command-line option of ``widedeep serve`` (``--max-body-bytes`` ...).

=====================  =========  =====================================================
limit                  default    what it bounds
=====================  =========  =====================================================
max_body_bytes         1 MiB      bytes of one request body (413 above)
max_candidates         1000       candidates of one :rank request
max_instances          1000       rows of one :predict request
max_bag_length         1000       values in one bag (list) cell
max_string_length      256        characters of one string value
max_top_k              1000       ``top_k`` of a :rank request
max_explain            10         candidates explained when ``explain`` is set
max_concurrent         2          scoring threads (the worker pool), each scoring one
                                  request or one batch of queued ones at a time
max_queued             64         requests waiting for a worker (503 above)
=====================  =========  =====================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

__all__ = ["ServerLimits", "NAME_PATTERN", "check_name"]

# A model or version name: letters, digits, "_", "-", "." but never a path ("/", "..").
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ServerLimits:
    """Bounds on requests (see the module docstring for the table)."""
    max_body_bytes: int = 1 << 20
    max_candidates: int = 1000
    max_instances: int = 1000
    max_bag_length: int = 1000
    max_string_length: int = 256
    max_top_k: int = 1000
    max_explain: int = 10
    # 2: one thread can run Python while another is in NumPy's kernels (which release the
    # GIL); more threads of one process fight over the GIL and cost more CPU per request
    # (serve_ab.py, README "Request batching"). More cores: more processes (--workers).
    max_concurrent: int = 2
    max_queued: int = 64

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"server limit {item.name} must be an integer >= 1, got "
                                 f"{value!r}")


def check_name(name):
    """True if ``name`` may name a model or a version: no path separators, no ``..``."""
    return isinstance(name, str) and bool(NAME_PATTERN.match(name)) and ".." not in name

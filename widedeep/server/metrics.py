"""Prometheus metrics of the model server, rendered in the text exposition format 0.0.4.

=====================================  =========  ===========================================
``widedeep_requests_total``            counter    requests by model, version, endpoint, code
``widedeep_request_seconds``           histogram  latency by model, version, endpoint (only
                                                  requests answered 2xx)
``widedeep_model_version_served``      gauge      the version each model serves (-1: none)
``widedeep_version_swaps_total``       counter    swaps to a new or pinned version, by model
``widedeep_versions_refused_total``    counter    versions refused by the gate, by model
=====================================  =========  ===========================================

Each server process keeps its own counts (with ``--workers 2`` a scrape sees the process that
answered it), as for any multi-process Python server without a shared store.
"""
from __future__ import annotations

import bisect
import threading

__all__ = ["ServerMetrics", "LATENCY_BUCKETS"]

# seconds; dense around the paper's O(10) ms serving budget
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
                   0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """Counters, histograms and gauges guarded by one lock (cheap next to a request)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = {}      # (model, version, endpoint, code) -> count
        self._latency = {}       # (model, version, endpoint) -> [bucket counts..., sum, count]
        self._served = {}        # model -> version
        self._swaps = {}
        self._refused = {}

    def observe_request(self, model, version, endpoint, code, seconds):
        key = (model, str(version), endpoint)
        with self._lock:
            self._requests[key + (str(code),)] = self._requests.get(key + (str(code),), 0) + 1
            if 200 <= code < 300:
                histogram = self._latency.setdefault(key, [0] * len(LATENCY_BUCKETS) + [0.0, 0])
                position = bisect.bisect_left(LATENCY_BUCKETS, seconds)
                if position < len(LATENCY_BUCKETS):
                    histogram[position] += 1
                histogram[-2] += seconds
                histogram[-1] += 1

    def set_served(self, model, version):
        with self._lock:
            self._served[model] = version

    def count_swap(self, model):
        with self._lock:
            self._swaps[model] = self._swaps.get(model, 0) + 1

    def count_refusal(self, model):
        with self._lock:
            self._refused[model] = self._refused.get(model, 0) + 1

    def render(self):
        """The metrics page (``text/plain; version=0.0.4``)."""
        with self._lock:
            lines = ["# HELP widedeep_requests_total Requests answered, by model, version, "
                     "endpoint and HTTP status.", "# TYPE widedeep_requests_total counter"]
            for (model, version, endpoint, code), count in sorted(self._requests.items()):
                lines.append(f"widedeep_requests_total{_labels(model=model, version=version, endpoint=endpoint, code=code)} {count}")
            lines += ["# HELP widedeep_request_seconds Latency of successful requests, "
                      "from the body read to the answer.",
                      "# TYPE widedeep_request_seconds histogram"]
            for (model, version, endpoint), histogram in sorted(self._latency.items()):
                cumulative = 0
                for bound, count in zip(LATENCY_BUCKETS, histogram):
                    cumulative += count
                    lines.append(f"widedeep_request_seconds_bucket{_labels(model=model, version=version, endpoint=endpoint, le=repr(bound))} {cumulative}")
                base = _labels(model=model, version=version, endpoint=endpoint)
                lines.append(f"widedeep_request_seconds_bucket{_labels(model=model, version=version, endpoint=endpoint, le='+Inf')} {histogram[-1]}")
                lines.append(f"widedeep_request_seconds_sum{base} {histogram[-2]!r}")
                lines.append(f"widedeep_request_seconds_count{base} {histogram[-1]}")
            for name, kind, help_text, values in (
                    ("widedeep_model_version_served", "gauge",
                     "The version each model serves (-1: none yet).", self._served),
                    ("widedeep_version_swaps_total", "counter",
                     "Swaps to a new or pinned version.", self._swaps),
                    ("widedeep_versions_refused_total", "counter",
                     "Versions refused by the gate.", self._refused)):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
                lines += [f"{name}{_labels(model=model)} {value}"
                          for model, value in sorted(values.items())]
        return "\n".join(lines) + "\n"


def _labels(**labels):
    text = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + text + "}"


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

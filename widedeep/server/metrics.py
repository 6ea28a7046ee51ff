"""Prometheus metrics of the model server, rendered in the text exposition format 0.0.4.

=====================================  =========  ===========================================
``widedeep_requests_total``            counter    requests by model, version, endpoint, code
``widedeep_request_seconds``           histogram  latency by model, version, endpoint (only
                                                  requests answered 2xx)
``widedeep_model_version_served``      gauge      the version each model serves (-1: none),
                                                  by model and worker
``widedeep_version_swaps_total``       counter    swaps to a new or pinned version, by model
``widedeep_versions_refused_total``    counter    versions refused by the gate, by model
``widedeep_batches_total``             counter    calls that ranked several queued :rank
                                                  requests together, by model
``widedeep_batched_requests_total``    counter    requests ranked in those (their ratio: the
                                                  mean batch size), by model
``widedeep_workers``                   gauge      server processes whose counts are included
=====================================  =========  ===========================================

Several worker processes (``--workers N``) share one port, so a scrape reaches whichever
process the kernel hands the connection to. To make every scrape show the whole server, the
workers share a directory (``metrics_dir``, a temporary one made by ``widedeep serve``):
each process writes a snapshot of its counts there (``worker-{id}.json``, replaced
atomically) every ``flush_seconds`` (default 1 s) and when it shuts down, and a scrape
answers with the sum over every snapshot, its own counts taken live. Counters and
histograms are summed (a worker that exited keeps its counts, so totals never go down);
the served-version gauge is given per worker (label ``worker``; during a swap workers can
briefly differ), for live workers only. Another worker's counts are thus up to
``flush_seconds`` old. Each worker polls, gates and swaps on its own, so one new version
adds one swap (or refusal) per worker. With one process (no directory) the page is that
process's counts, ``worker="0"``.
"""
from __future__ import annotations

import bisect
import json
import logging
import os
import threading

__all__ = ["ServerMetrics", "LATENCY_BUCKETS"]

logger = logging.getLogger("widedeep")

# seconds; dense around the paper's O(10) ms serving budget
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
                   0.25, 0.5, 1.0, 2.5)
_SNAPSHOT_PREFIX = "worker-"


class ServerMetrics:
    """Counters, histograms and gauges of one server process, guarded by one lock (cheap
    next to a request).

    ``directory``: the folder shared by the worker processes (None: one process);
    ``worker``: this process's id in it (default its pid); ``flush_seconds``: how often
    `start_flushing`'s thread writes this process's snapshot there.
    """

    def __init__(self, directory=None, worker=None, flush_seconds=1.0):
        self.directory = None if directory is None else os.fspath(directory)
        self.worker = str(os.getpid() if worker is None else worker) \
            if self.directory is not None else str(worker or 0)
        self.flush_seconds = float(flush_seconds)
        self._lock = threading.Lock()
        self._requests = {}      # (model, version, endpoint, code) -> count
        self._latency = {}       # (model, version, endpoint) -> [bucket counts..., sum, count]
        self._served = {}        # model -> version
        self._swaps = {}
        self._refused = {}
        self._batches = {}       # model -> [batches, requests in them]
        self._stop = threading.Event()
        self._thread = None

    # ------------------------------------------------------------------ counting
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

    def count_batch(self, model, n_requests):
        """One call ranked ``n_requests`` (>= 2) queued requests together."""
        with self._lock:
            counts = self._batches.setdefault(model, [0, 0])
            counts[0] += 1
            counts[1] += int(n_requests)

    # ------------------------------------------------------------------ sharing
    def snapshot(self):
        """This process's counts as JSON-able data (what a worker's file holds)."""
        with self._lock:
            return {"worker": self.worker, "pid": os.getpid(),
                    "requests": [[*key, count] for key, count in self._requests.items()],
                    "latency": [[*key, list(h)] for key, h in self._latency.items()],
                    "served": dict(self._served), "swaps": dict(self._swaps),
                    "refused": dict(self._refused),
                    "batches": {model: list(c) for model, c in self._batches.items()}}

    def write_snapshot(self):
        """Replace this worker's file in ``directory`` (atomically) with its counts now."""
        if self.directory is None:
            return
        path = os.path.join(self.directory, f"{_SNAPSHOT_PREFIX}{self.worker}.json")
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.snapshot(), handle)
        os.replace(temporary, path)

    def start_flushing(self):
        """Write the snapshot now and then every ``flush_seconds`` on a daemon thread."""
        if self.directory is None or self._thread is not None:
            return
        os.makedirs(self.directory, exist_ok=True)
        self.write_snapshot()
        self._thread = threading.Thread(target=self._flush_forever, daemon=True,
                                        name="widedeep-metrics-flush")
        self._thread.start()

    def stop_flushing(self):
        """Stop the thread and write the final counts."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
        self.write_snapshot()

    def _flush_forever(self):
        while not self._stop.wait(self.flush_seconds):
            try:
                self.write_snapshot()
            except OSError:   # a full or removed directory must not stop the server
                logger.exception("writing the metrics snapshot failed")

    def _snapshots(self):
        """Every worker's snapshot: this one live, the others from their files."""
        own = self.snapshot()
        if self.directory is None:
            return [own]
        snapshots = [own]
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return snapshots
        for name in names:
            if not (name.startswith(_SNAPSHOT_PREFIX) and name.endswith(".json")) \
                    or name == f"{_SNAPSHOT_PREFIX}{self.worker}.json":
                continue
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8") as handle:
                    snapshots.append(json.load(handle))
            except (OSError, ValueError):   # being replaced, or not ours: skip this scrape
                continue
        return snapshots

    # ------------------------------------------------------------------ the page
    def render(self):
        """The metrics page (``text/plain; version=0.0.4``), summed over the workers."""
        snapshots = self._snapshots()
        requests, latency, swaps, refused, served = {}, {}, {}, {}, {}
        batches, batched = {}, {}
        for snapshot in snapshots:
            for *key, count in snapshot["requests"]:
                requests[tuple(key)] = requests.get(tuple(key), 0) + count
            for *key, histogram in snapshot["latency"]:
                total = latency.setdefault(tuple(key), [0] * len(histogram))
                latency[tuple(key)] = [a + b for a, b in zip(total, histogram)]
            snapshot_batches = snapshot.get("batches", {})
            for totals, counts in ((swaps, snapshot["swaps"]), (refused, snapshot["refused"]),
                                   (batches, {m: c[0] for m, c in snapshot_batches.items()}),
                                   (batched, {m: c[1] for m, c in snapshot_batches.items()})):
                for model, count in counts.items():
                    totals[model] = totals.get(model, 0) + count
            if snapshot is snapshots[0] or _alive(snapshot.get("pid")):
                for model, version in snapshot["served"].items():
                    served[(model, snapshot["worker"])] = version

        lines = ["# HELP widedeep_requests_total Requests answered, by model, version, "
                 "endpoint and HTTP status.", "# TYPE widedeep_requests_total counter"]
        for (model, version, endpoint, code), count in sorted(requests.items()):
            lines.append(f"widedeep_requests_total{_labels(model=model, version=version, endpoint=endpoint, code=code)} {count}")
        lines += ["# HELP widedeep_request_seconds Latency of successful requests, "
                  "from the body read to the answer.",
                  "# TYPE widedeep_request_seconds histogram"]
        for (model, version, endpoint), histogram in sorted(latency.items()):
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS, histogram):
                cumulative += count
                lines.append(f"widedeep_request_seconds_bucket{_labels(model=model, version=version, endpoint=endpoint, le=repr(bound))} {cumulative}")
            base = _labels(model=model, version=version, endpoint=endpoint)
            lines.append(f"widedeep_request_seconds_bucket{_labels(model=model, version=version, endpoint=endpoint, le='+Inf')} {histogram[-1]}")
            lines.append(f"widedeep_request_seconds_sum{base} {float(histogram[-2])!r}")
            lines.append(f"widedeep_request_seconds_count{base} {histogram[-1]}")
        lines += ["# HELP widedeep_model_version_served The version each model serves (-1: "
                  "none yet), per worker process.",
                  "# TYPE widedeep_model_version_served gauge"]
        lines += [f"widedeep_model_version_served{_labels(model=model, worker=worker)} {version}"
                  for (model, worker), version in sorted(served.items())]
        for name, help_text, values in (
                ("widedeep_version_swaps_total", "Swaps to a new or pinned version.", swaps),
                ("widedeep_versions_refused_total", "Versions refused by the gate.", refused),
                ("widedeep_batches_total", "Calls that ranked several queued :rank requests "
                                           "together (request batching).", batches),
                ("widedeep_batched_requests_total", "Requests ranked in those calls.",
                 batched)):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            lines += [f"{name}{_labels(model=model)} {value}"
                      for model, value in sorted(values.items())]
        lines += ["# HELP widedeep_workers Server processes whose counts this page sums.",
                  "# TYPE widedeep_workers gauge", f"widedeep_workers {len(snapshots)}"]
        return "\n".join(lines) + "\n"


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _labels(**labels):
    text = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + text + "}"


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

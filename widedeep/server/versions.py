"""Versioned models under a base path: polled, loaded, gated, swapped atomically.

Layout (TensorFlow Serving's)::

    MODEL_BASE/{name}/{version}/      what `save_model` writes (+ assets.extra, see gate.py)

``name`` matches `limits.NAME_PATTERN`; ``version`` is a positive integer. A version folder
is considered once its ``manifest.json`` exists (`save_model` writes it last); drop a
version in by renaming a finished folder into the base path, so its assets are there too.

`ModelRepository.poll` (run every ``poll_seconds`` by a background thread, or on demand)
looks, for each model, at the versions above the one it serves, newest first: it loads one
(`load_model` with the arrays memory-mapped read-only, so several server
processes share one copy), gates it (`gate.run_gate`) against the serving
version, and swaps it in on success. The swap replaces one reference under a lock: a request
takes the `LoadedVersion` it will use once, at its start, so it finishes on the version it
began with (no request mixes versions) and the old version is closed when its last request
is done. A refused version is reported with its reasons and not retried until its folder
changes (a new snapshot). ``pin(name, version)`` serves that version (a rollback: it is
loaded and checked, without the quality comparison); ``pin(name, None)`` returns to the
newest accepted version. Only folders under ``MODEL_BASE`` (resolved, symlinks followed)
are ever read, and requests never name a file.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from ..io import load_model_and_spec, read_manifest
from ..serving import Ranker
from .gate import GateSettings, read_gate_data, run_gate
from .limits import ServerLimits, check_name

__all__ = ["ModelRepository", "LoadedVersion", "VersionStatus"]

logger = logging.getLogger("widedeep")

_RECORDED_REQUESTS = 32


class LoadedVersion:
    """One loaded version: estimator, spec, a `Ranker`, its raw columns and gate data.

    ``acquire``/``release`` count the requests using it; once ``retire`` is called (it was
    swapped out) the ranker's threads stop when the last request releases it.
    """

    def __init__(self, name, version, path, estimator, spec, n_threads, warmup, holdout,
                 snapshot):
        self.name, self.version, self.path = name, int(version), path
        self.estimator, self.spec = estimator, spec
        self.kinds = spec.raw_columns()
        # a multiclass model ranks by one class's probability: one Ranker per class
        self.n_classes = getattr(estimator, "n_classes_", None) \
            if getattr(estimator, "objective", "binary") == "multiclass" else None
        classes = [None] if self.n_classes is None else range(self.n_classes)
        self.rankers = {c: Ranker(estimator, spec=spec, n_threads=n_threads, target_class=c)
                        for c in classes}
        self.warmup, self.holdout, self.snapshot = warmup, holdout, snapshot
        self._lock = threading.Lock()
        self._in_flight = 0
        self._retired = False

    def acquire(self):
        with self._lock:
            self._in_flight += 1

    def release(self):
        with self._lock:
            self._in_flight -= 1
            close = self._retired and self._in_flight == 0
        if close:
            self.close()

    def ranker(self, target_class=None):
        """The `Ranker` of ``target_class`` (required for a multiclass model, else None)."""
        if target_class not in self.rankers:
            expected = "no target_class (not a multiclass model)" if self.n_classes is None \
                else f"target_class in 0 .. {self.n_classes - 1}"
            raise KeyError(f"expected {expected}, got {target_class!r}")
        return self.rankers[target_class]

    def close(self):
        for ranker in self.rankers.values():
            ranker.close()

    def retire(self):
        with self._lock:
            self._retired = True
            close = self._in_flight == 0
        if close:
            self.close()


@dataclass
class VersionStatus:
    """State of one version: ``LOADING``, ``AVAILABLE`` (serving), ``READY`` (accepted,
    not serving), ``REFUSED`` (failed to load or the gate), ``UNLOADED`` (replaced)."""
    version: int
    state: str
    reasons: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    updated: float = field(default_factory=time.time)


class ModelRepository:
    """The models of ``base`` and the version each serves (see the module docstring)."""

    def __init__(self, base, *, limits=None, gate=None, n_threads=1, metrics=None, pins=None):
        self.base = os.path.realpath(os.fspath(base))
        if not os.path.isdir(self.base):
            raise ValueError(f"{base}: model base path is not a directory")
        self.limits = limits or ServerLimits()
        self.gate = gate or GateSettings()
        self.n_threads = int(n_threads)
        self.metrics = metrics
        self._serving = {}                 # name -> LoadedVersion
        self._status = {}                  # name -> {version: VersionStatus}
        self._refused = {}                 # (name, version) -> snapshot refused
        self._pins = {}
        self._recorded = {}                # name -> deque of parsed live requests
        self._lock = threading.Lock()      # guards the dicts above
        self._poll_lock = threading.Lock()  # one poll at a time
        self._stop = threading.Event()
        self._thread = None
        for name, version in (pins or {}).items():
            self._pins[name] = int(version)

    # ------------------------------------------------------------------ reading
    def serving(self, name):
        """The `LoadedVersion` serving ``name``, or None."""
        with self._lock:
            return self._serving.get(name)

    def acquire(self, name):
        """The serving version of ``name``, counted as in use (call ``release`` after)."""
        with self._lock:
            loaded = self._serving.get(name)
            if loaded is not None:
                loaded.acquire()
            return loaded

    def names(self):
        with self._lock:
            return sorted(set(self._status) | set(self._serving))

    def status(self, name):
        """``[VersionStatus, ...]`` newest first (a copy)."""
        with self._lock:
            return sorted((VersionStatus(**vars(s)) for s in self._status.get(name, {}).values()),
                          key=lambda s: -s.version)

    def pinned(self, name):
        with self._lock:
            return self._pins.get(name)

    def record(self, name, request):
        """Keep a parsed live ranking request: warm-up for versions that bring none."""
        with self._lock:
            self._recorded.setdefault(name, deque(maxlen=_RECORDED_REQUESTS)).append(request)

    # ------------------------------------------------------------------ changing
    def pin(self, name, version):
        """Serve ``version`` of ``name`` from now on (None: unpin); polls that model."""
        if version is not None and (not isinstance(version, int) or version < 1):
            raise ValueError(f"version must be a positive integer or None, got {version!r}")
        with self._lock:
            if version is None:
                self._pins.pop(name, None)
            else:
                self._pins[name] = version
        self.poll(only=name)

    def poll(self, only=None):
        """Look for new versions of every model (or of ``only``) and swap in accepted ones."""
        with self._poll_lock:
            for name in self._model_names():
                if only is None or name == only:
                    try:
                        self._poll_model(name)
                    except Exception:   # a broken folder must never stop the server
                        logger.exception("polling model %r failed", name)

    def start(self, poll_seconds):
        """Poll now, then every ``poll_seconds`` on a daemon thread (0: never again)."""
        self.poll()
        if poll_seconds and poll_seconds > 0:
            self._thread = threading.Thread(target=self._poll_forever, args=(poll_seconds,),
                                            name="widedeep-model-poller", daemon=True)
            self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            serving, self._serving = list(self._serving.values()), {}
        for loaded in serving:
            loaded.retire()

    def _poll_forever(self, seconds):
        while not self._stop.wait(seconds):
            self.poll()

    # ------------------------------------------------------------------ internals
    def _model_names(self):
        try:
            entries = sorted(os.listdir(self.base))
        except OSError:
            return []
        return [e for e in entries if check_name(e) and self._inside(os.path.join(self.base, e))]

    def _inside(self, path):
        real = os.path.realpath(path)
        return os.path.isdir(real) and os.path.commonpath([real, self.base]) == self.base

    def _versions(self, name):
        """``{version: folder}`` of the folders with a committed manifest."""
        folder = os.path.join(self.base, name)
        found = {}
        for entry in os.listdir(folder):
            path = os.path.join(folder, entry)
            if entry.isdigit() and int(entry) > 0 and self._inside(path) \
                    and os.path.isfile(os.path.join(path, "manifest.json")):
                found[int(entry)] = os.path.realpath(path)
        return found

    def _poll_model(self, name):
        with self._lock:
            self._status.setdefault(name, {})   # known (and not ready) until a version serves
        versions = self._versions(name)
        current = self.serving(name)
        pin = self.pinned(name)
        if pin is not None:
            if current is not None and current.version == pin:
                return
            if pin not in versions:
                self._set_status(name, VersionStatus(pin, "REFUSED", [
                    f"pinned version {pin} does not exist under {name}/"]))
                return
            self._try(name, pin, versions[pin], current, compare=False)
            return
        newer = sorted((v for v in versions if current is None or v > current.version),
                       reverse=True)
        for version in newer:
            snapshot = self._snapshot(versions[version])
            with self._lock:
                refused = self._refused.get((name, version))
            if refused is not None and refused == snapshot:
                continue
            if self._try(name, version, versions[version], current, compare=True):
                return

    def _snapshot(self, path):
        try:
            return read_manifest(path, verify=False)["snapshot"]
        except ValueError:
            return None

    def _try(self, name, version, path, current, compare):
        """Load and gate one version; swap it in if accepted. True if it now serves."""
        self._set_status(name, VersionStatus(version, "LOADING"))
        started = time.perf_counter()
        try:
            loaded = self._load(name, version, path)
        except (ValueError, OSError, TypeError, KeyError) as error:
            return self._refuse(name, version, path, [f"cannot load: {error}"], [], {})
        with self._lock:
            recorded = list(self._recorded.get(name, ()))
        warmup = loaded.warmup or recorded
        holdout = loaded.holdout or (current.holdout if current is not None else None)
        try:
            result = run_gate(loaded, current, warmup, holdout, self.gate, self.n_threads,
                              compare=compare)
        except Exception as error:   # a model that crashes its dry run is refused
            loaded.retire()
            return self._refuse(name, version, path, [f"gate failed: {error!r}"], [], {})
        if not result.accepted:
            loaded.retire()
            return self._refuse(name, version, path, result.reasons, result.notes,
                                result.details)
        result.details["load_and_gate_seconds"] = time.perf_counter() - started
        with self._lock:
            old = self._serving.get(name)
            self._serving[name] = loaded
            statuses = self._status.setdefault(name, {})
            if old is not None and old.version in statuses:
                statuses[old.version].state = "READY" if old.version > version \
                    else "UNLOADED"
                statuses[old.version].updated = time.time()
            statuses[version] = VersionStatus(version, "AVAILABLE", [], result.notes,
                                               result.details)
        if old is not None:
            old.retire()
        if self.metrics is not None:
            self.metrics.set_served(name, version)
            self.metrics.count_swap(name)
        logger.info("model %r: serving version %d (%s)", name, version,
                    "; ".join(result.notes) or "all checks passed")
        return True

    def _load(self, name, version, path):
        # one snapshot for both, even if the version is re-saved meanwhile; mapped so
        # processes share the tables
        estimator, spec = load_model_and_spec(path, mmap=True)
        if spec is None:
            raise ValueError(f"{path}: no feature spec saved with the model; the server "
                             f"needs save_model(model, path, spec=spec)")
        snapshot = self._snapshot(path)
        warmup, holdout = read_gate_data(path, spec.raw_columns(), self.limits)
        return LoadedVersion(name, version, path, estimator, spec, self.n_threads, warmup,
                             holdout, snapshot)

    def _refuse(self, name, version, path, reasons, notes, details):
        with self._lock:
            self._refused[(name, version)] = self._snapshot(path)
        self._set_status(name, VersionStatus(version, "REFUSED", reasons, notes, details))
        if self.metrics is not None:
            self.metrics.count_refusal(name)
        logger.warning("model %r: version %d refused: %s", name, version, "; ".join(reasons))
        return False

    def _set_status(self, name, status):
        with self._lock:
            self._status.setdefault(name, {})[status.version] = status

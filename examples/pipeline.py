"""The paper's pipeline end to end: train, serve, warm-start, gate, swap under load, refuse.

Cheng et al. (2016), section 4: a new model is warm-started from the previous one, dry-run
and checked against it, then loaded into the model servers, which rank each request's
candidates in O(10) ms. Here, on the simulated app store (`widedeep.datasets.AppStore`):

1. **day 0**: fit the app-store `FeatureSpec` (``examples/app_store.py``), train a Wide &
   Deep model, save it as version 1 of ``MODEL_BASE/app_store/`` with warm-up requests and a
   day-0 holdout (`widedeep.server.store_gate_data`);
2. **serve**: start ``python -m widedeep.server MODEL_BASE`` (what ``widedeep serve`` runs)
   on a free loopback port and wait until it is ready;
3. **load**: client threads rank day-1 requests over HTTP for the rest of the run;
4. **day 1**: refit the spec on day-1 rows (new apps grow the vocabulary), warm-start from
   version 1 (`widedeep.io.warm_start`), train, and drop version 2 into the base path (saved
   to a staging folder, then renamed: atomic). The server gates it (finite weights, dry run
   of the warm-up requests, AUC and log-loss against version 1 on the day-1 holdout) and
   swaps it in while the clients keep ranking;
5. **day 2, broken**: version 3 is version 2 with NaN weights in its first dense layer; the
   server refuses it and keeps serving version 2, and its status says why;
6. report: requests sent, failed (must be 0), answered by each version, latency.

Exit status 0 only if no request failed, version 2 was swapped in and version 3 refused.

Run::

    python examples/pipeline.py            # ~1 minute on 2 cores
    python examples/pipeline.py --quick    # tiny sizes (the test suite's)
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import httpx  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_store import build_spec  # noqa: E402

from widedeep import Adagrad, FtrlProximal  # noqa: E402
from widedeep.datasets import AppStore  # noqa: E402
from widedeep.io import save_model, warm_start  # noqa: E402
from widedeep.readers import take_batch  # noqa: E402
from widedeep.records import Ragged  # noqa: E402
from widedeep.server import store_gate_data  # noqa: E402

NAME = "app_store"
# name: (full run, --quick)
SIZES = {"n_train": (100_000, 12_000), "n_holdout": (20_000, 4_000), "epochs": (3, 2),
         "n_warmup": (20, 6), "n_candidates": (100, 30)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (tests)")
    parser.add_argument("--model-base", help="keep the model base here (default: a "
                                             "temporary folder, removed at the end)")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    for name, (full, quick) in SIZES.items():
        setattr(args, name, quick if args.quick else full)
    return args


# ---------------------------------------------------------------------- data and models
def split(store, day, args):
    columns, labels = store.sample(args.n_train + args.n_holdout, day=day)
    rows = np.arange(labels.shape[0])
    return ((take_batch(columns, rows[:args.n_train]), labels[:args.n_train]),
            (take_batch(columns, rows[args.n_train:]), labels[args.n_train:]))


def model_params(args):
    return dict(hidden_units=(64, 32), epochs=args.epochs, batch_size=256,
                random_state=args.seed, ftrl=FtrlProximal(alpha=0.1, beta=0.1, l1=1e-4),
                adagrad=Adagrad(lr=0.05, initial_accumulator_value=1e-3))


def rank_body(request, top_k=10):
    """The ``:rank`` JSON body of an `AppStore` request (1-row query, N candidates)."""
    query = {name: (column.to_lists()[0] if isinstance(column, Ragged) else column[0].item())
             for name, column in request["query"].items()}
    candidates = {name: np.asarray(column).tolist()
                  for name, column in request["candidates"].items()}
    return {"query": query, "candidates": candidates, "top_k": top_k}


def drop_version(base, version, model, spec, warmup, holdout):
    """Save into a staging folder next to the base path, then rename it into place."""
    staging = os.path.join(base, f".staging-{version}")
    save_model(model, staging, spec=spec)
    store_gate_data(staging, warmup, *holdout)
    os.rename(staging, os.path.join(base, NAME, str(version)))
    print(f"dropped version {version} into {os.path.join(base, NAME, str(version))}")


# ---------------------------------------------------------------------- server and load
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(base):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "widedeep.server", base, "--port",
                                str(port), "--poll-seconds", "0.5", "--log-level", "warning",
                                # the gate's dry run shares 2 cores with the load and the
                                # training here: a budget for this machine, not for production
                                "--latency-budget-ms", "1000"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not become ready")


class Load:
    """Client threads ranking request bodies in a loop until `stop`."""

    def __init__(self, url, bodies, n_clients):
        self.url, self.bodies = url, bodies
        self.results = []        # (status code, version or None, seconds)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(k,)) for k in
                         range(n_clients)]

    def _loop(self, k):
        with httpx.Client(timeout=30) as client:
            i = k
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    answer = client.post(f"{self.url}/v1/models/{NAME}:rank",
                                         json=self.bodies[i % len(self.bodies)])
                    version = answer.json().get("model_version") \
                        if answer.status_code == 200 else None
                    self.results.append((answer.status_code, version,
                                         time.perf_counter() - start))
                except httpx.HTTPError as error:
                    self.results.append((repr(error), None, time.perf_counter() - start))
                i += len(self._threads)

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def versions(self, last=None):
        return [version for _, version, _ in self.results[-last if last else 0:]]


def wait_for(url, version, states, timeout=120):
    """The status entry of ``version`` once its state is in ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in httpx.get(f"{url}/v1/models/{NAME}").json()["model_version_status"]:
            if entry["version"] == str(version) and entry["state"] in states:
                return entry
        time.sleep(0.25)
    raise SystemExit(f"version {version} did not reach {states} in {timeout} s")


# ---------------------------------------------------------------------- the run
def main(argv=None):
    args = parse_args(argv)
    base = args.model_base or tempfile.mkdtemp(prefix="widedeep-model-base-")
    os.makedirs(os.path.join(base, NAME), exist_ok=True)
    store = AppStore(random_state=args.seed)
    started = time.perf_counter()

    print("== day 0: train and save version 1")
    (train0, y0), (holdout0, h0) = split(store, 0, args)
    spec0 = build_spec(app_dim=16, small_dim=4, cross_buckets=1 << 16).fit(train0)
    model0 = spec0.build_estimator("wide_deep", **model_params(args)).fit(
        spec0.transform(train0), y0)
    print(f"day-0 holdout AUC {model0.evaluate(spec0.transform(holdout0), h0)['auc']:.4f}")
    warmup0 = [rank_body(r) for r in store.requests(args.n_warmup, args.n_candidates, day=0)]
    drop_version(base, 1, model0, spec0, warmup0, (holdout0, h0))

    print("== serve")
    process, url = start_server(base)
    load = None
    try:
        print(f"server ready at {url}, serving version "
              f"{httpx.get(f'{url}/readyz').json()['models'][NAME]}")
        day1_requests = store.requests(4 * args.n_warmup, args.n_candidates, day=1)
        load = Load(url, [rank_body(r) for r in day1_requests], args.clients).start()

        print("== day 1: warm start, train, drop version 2 (under load)")
        (train1, y1), (holdout1, h1) = split(store, 1, args)
        spec1 = build_spec(app_dim=16, small_dim=4, cross_buckets=1 << 16).fit(train1)
        model1 = spec1.build_estimator("wide_deep", **model_params(args))
        report = warm_start(model1, os.path.join(base, NAME, "1"), new_spec=spec1)
        print(f"warm start: app rows carried {report.embeddings['app']['carried']:,}, "
              f"new {report.embeddings['app']['new']:,}")
        model1.set_params(epochs=1).fit(spec1.transform(train1), y1)
        drop_version(base, 2, model1, spec1, [rank_body(r) for r in day1_requests[:args.n_warmup]],
                     (holdout1, h1))
        entry = wait_for(url, 2, ("AVAILABLE", "REFUSED"))
        version2 = entry
        print(f"version 2: {entry['state']} {entry['reasons'] or ''}")
        details = entry["details"]
        if details.get("candidate_metrics"):
            print(f"  gate: day-1 holdout AUC {details['candidate_metrics']['auc']:.4f} vs "
                  f"version 1 {details['current_metrics']['auc']:.4f}; warm-up p99 "
                  f"{details['latency_p99_ms']:.1f} ms")
        swapped = entry["state"] == "AVAILABLE"
        time.sleep(1.0)   # some load on version 2

        print("== day 2: a broken model (NaN weights) dropped as version 3")
        broken = copy.deepcopy(model1)
        broken.deep_.layers[0].params["W"][:4] = np.nan
        drop_version(base, 3, broken, spec1, None, (holdout1, h1))
        entry = wait_for(url, 3, ("AVAILABLE", "REFUSED"))
        refused, version3 = entry["state"] == "REFUSED", entry
        print(f"version 3: {entry['state']}: {'; '.join(entry['reasons'])}")
        time.sleep(0.5)
        serving = httpx.get(f"{url}/readyz").json()["models"][NAME]
    finally:
        if load is not None:
            load.stop()
        process.terminate()
        process.wait(timeout=30)

    results = load.results
    failed = [r for r in results if r[0] != 200]
    latencies = np.array([r[2] for r in results if r[0] == 200]) * 1e3
    by_version = {v: sum(1 for r in results if r[1] == v) for v in (1, 2, 3)}
    print("== report")
    print(f"{len(results):,} requests from {args.clients} clients: {len(failed)} failed; "
          f"answered by version 1: {by_version[1]:,}, version 2: {by_version[2]:,}, "
          f"version 3: {by_version[3]:,}; now serving version {serving}")
    if latencies.size:
        print(f"latency over HTTP with {args.clients} concurrent clients: p50 "
              f"{np.percentile(latencies, 50):.1f} ms, p99 {np.percentile(latencies, 99):.1f} ms")
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.model_base is None:
        shutil.rmtree(base, ignore_errors=True)
    ok = not failed and swapped and refused and by_version[3] == 0 and serving == 2
    print("PIPELINE OK" if ok else "PIPELINE FAILED")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"n_requests": len(results), "failed": [str(r[0]) for r in failed],
                       "by_version": by_version, "serving": serving,
                       "version_versions": [r[1] for r in results],
                       "version2": version2, "version3": version3, "ok": ok}, handle)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

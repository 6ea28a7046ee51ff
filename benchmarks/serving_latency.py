"""Serving latency of the paper-sized Wide & Deep model (Cheng et al. 2016, section 4.3).

The model mirrors ``../shared/bench`` ``--config paper`` (random weights, no training):

- deep input 1200-d: 48 dense (16 per user, 32 per candidate) + 36 fields x 32-d embeddings:
  ``impression_app`` (candidate), 12 user fields, 12 app-attribute fields (candidate), 9
  context fields (``ctx_position`` per candidate, the rest per request) and two bags,
  ``installed_apps`` (weighted, mean length 40) and ``recent_impressions`` (mean 8);
  ``impression_app`` and both bags share the 10^6-row "app" table;
- ReLU 1024-512-256, one logit;
- wide: 34 one-hot fields + the hashed ``installed_apps x impression_app`` cross (2^22).

Per request: 1 query (user/context) and N candidates, given as prepared feature dicts (not
timed, as in the peer). Timed: ``Ranker.rank`` (or ``predict_logit`` on the expanded batch
for the naive baseline), p50/p99 over ``--requests`` requests after ``--warmup``. The
modes are **interleaved request by request** (each request is scored by every mode in a
rotating order), so on a shared, noisy machine every mode sees the same background load.

With ``--torch-peer ../shared/bench`` the PyTorch peer (``torch_wd.py``, per-field and fused
layouts, its own ``paper`` test rows cut into requests of N rows; data from
``python common.py gen paper``, location ``WD_BENCH_DATA``) is timed in the same process,
interleaved with our modes: ``torch``/``torch-fused`` with 1 sub-batch and ``splitK``.

Set the BLAS thread count before NumPy starts:

    OPENBLAS_NUM_THREADS=1 python benchmarks/serving_latency.py --torch-peer ../shared/bench
    OPENBLAS_NUM_THREADS=2 python benchmarks/serving_latency.py --modes intra \
        --torch-peer ../shared/bench --torch-threads 2
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from widedeep import SparseInput, WideDeepEstimator
from widedeep.serving import Ranker

N_APPS = 1_000_000
CROSS_BUCKETS = 1 << 22
USER = [("user_country", 250), ("user_language", 150), ("user_device", 20000),
        ("user_os", 60), ("user_carrier", 3000), ("user_age", 10), ("user_gender", 3),
        ("user_region", 5000), ("user_tenure", 20), ("user_spend", 20),
        ("user_locale", 500), ("user_screen", 50)]
APP = [("app_category", 60), ("app_developer", 100000), ("app_rating", 5),
       ("app_price", 20), ("app_size", 30), ("app_age", 30), ("app_installs", 30),
       ("app_language", 150), ("app_content", 10), ("app_genre", 500),
       ("app_permissions", 1000), ("app_updated", 30)]
CONTEXT = [("ctx_hour", 24), ("ctx_weekday", 7), ("ctx_network", 6), ("ctx_surface", 10),
           ("ctx_position", 100), ("ctx_query", 1000), ("ctx_experiment", 1000),
           ("ctx_referrer", 200), ("ctx_app_version", 500)]
CANDIDATE_CONTEXT = {"ctx_position"}
EMBEDDING_DIM = 32
PYTORCH_REFERENCE = {"single": (5.79, 6.82), "intra2": (3.49, 5.49),
                     "fused single": (4.95, 5.75), "fused split2": (3.30, 6.61)}


def build_model(seed=0):
    """The paper-sized model with random weights (wide weights N(0, 0.05^2))."""
    single = [("impression_app", N_APPS)] + USER + APP + CONTEXT
    vocabularies = {"app": (N_APPS, EMBEDDING_DIM)}
    vocabularies.update({name: (size, EMBEDDING_DIM) for name, size in single[1:]})
    embedding_fields = {"impression_app": "app"}
    embedding_fields.update({name: name for name, _ in single[1:]})
    embedding_fields.update(installed_apps="app", recent_impressions="app")
    wide_fields = dict(single)
    wide_fields["installed_x_impression"] = CROSS_BUCKETS
    model = WideDeepEstimator(
        wide_fields, vocabularies=vocabularies, embedding_fields=embedding_fields,
        dense_fields={"user_dense": 16, "item_dense": 32}, hidden_units=(1024, 512, 256),
        epochs=1, random_state=seed)
    rng = np.random.default_rng(seed)
    request = make_request(rng, 2)
    model.partial_fit(expand(request), np.array([0.0, 1.0]))   # creates the parameters
    for field in wide_fields:
        weights = model.wide_.params[field]
        weights[:] = rng.normal(0.0, 0.05, weights.shape[0])
    return model


def _bag(rng, mean_length, min_length, weighted):
    length = min_length + rng.poisson(mean_length - min_length)
    ids = rng.choice(N_APPS, size=length, replace=False)
    weights = rng.uniform(0.1, 1.0, length) / np.sqrt(max(length, 1)) if weighted \
        else np.ones(length)
    return ids, weights


def make_request(rng, n_candidates):
    """One query (1 row) and ``n_candidates`` candidates, as feature dicts."""
    query = {name: SparseInput.from_ids(rng.integers(0, size, 1))
             for name, size in USER + CONTEXT if name not in CANDIDATE_CONTEXT}
    installed, weights = _bag(rng, 40, 1, weighted=True)
    recent, _ = _bag(rng, 8, 0, weighted=False)
    query["installed_apps"] = SparseInput.from_lists([installed.tolist()], [weights.tolist()])
    query["recent_impressions"] = SparseInput.from_lists([recent.tolist()])
    query["user_dense"] = rng.normal(size=(1, 16)).astype(np.float32)
    apps = rng.integers(0, N_APPS, n_candidates)
    candidates = {name: SparseInput.from_ids(rng.integers(0, size, n_candidates))
                  for name, size in APP}
    candidates["impression_app"] = SparseInput.from_ids(apps)
    candidates["ctx_position"] = SparseInput.from_ids(np.arange(n_candidates) % 100)
    candidates["item_dense"] = rng.normal(size=(n_candidates, 32)).astype(np.float32)
    # installed_app x impression_app, hashed (an integer mix standing in for the spec's hash)
    pairs = (installed[None, :].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             ^ apps[:, None].astype(np.uint64)) % np.uint64(CROSS_BUCKETS)
    candidates["installed_x_impression"] = SparseInput.from_csr(
        np.arange(n_candidates + 1) * installed.shape[0], pairs.reshape(-1).astype(np.int64))
    return {"query": query, "candidates": candidates}


def expand(request):
    candidates = request["candidates"]
    n = candidates["impression_app"].n_examples
    rows = np.zeros(n, dtype=np.int64)
    out = {name: (value.take(rows) if isinstance(value, SparseInput) else value[rows])
           for name, value in request["query"].items()}
    out.update(candidates)
    return out


def percentiles(seconds):
    ms = np.asarray(seconds) * 1e3
    return (float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.mean()),
            float(ms.min()))


def time_interleaved(calls, n_requests, warmup):
    """``{name: [seconds per request]}``: request ``r`` is scored by every call in an order
    rotated by ``r``; ``calls[name](r)`` scores request ``r``."""
    names = list(calls)
    for r in range(warmup):
        for name in names:
            calls[name](r % n_requests)
    times = {name: [] for name in names}
    for r in range(n_requests):
        for j in range(len(names)):
            name = names[(r + j) % len(names)]
            start = time.perf_counter()
            calls[name](r)
            times[name].append(time.perf_counter() - start)
    return times


def torch_peer_calls(bench_dir, n, n_requests, splits, threads):
    """``{(mode, k): call(r)}`` scoring request ``r`` (test rows ``r*n .. r*n+n-1``) with the
    PyTorch peer of ``bench_dir``; and the thread pools to close."""
    sys.path.insert(0, os.path.abspath(bench_dir))
    import common
    import torch_wd
    calls, pools = {}, []
    for layout in ("per_field", "fused"):
        parser = common.add_cli_args(argparse.ArgumentParser())
        parser.add_argument("--emb-layout", default=layout)
        parser.add_argument("--wide-opt", default="ftrl")
        peer_args = parser.parse_args(["--config", "paper", "--threads", str(threads)])
        adapter = torch_wd.TorchAdapter(peer_args)
        test = adapter.ds.test
        n_requests = min(n_requests, test.n // n)
        whole = [adapter.prepare(test.batch(r * n, (r + 1) * n)) for r in range(n_requests)]
        name = "torch" if layout == "per_field" else "torch-fused"
        calls[(name, 1)] = lambda r, a=adapter, w=whole: a.predict(w[r % len(w)])
        for k in splits:
            if k == 1:
                continue
            step = -(-n // k)
            parts = [[adapter.prepare(test.batch(r * n + s, min(r * n + s + step, (r + 1) * n)))
                      for s in range(0, n, step)] for r in range(n_requests)]
            pool = ThreadPoolExecutor(k)
            pools.append(pool)
            calls[(name, k)] = lambda r, a=adapter, p=parts, pool=pool: np.concatenate(
                list(pool.map(a.predict, p[r % len(p)])))
    return calls, pools


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--candidates", default="100,200")
    parser.add_argument("--splits", default="1,2,4")
    parser.add_argument("--modes", default="factorized,tiled,expanded",
                        help="factorized | tiled (Ranker first_layer) | expanded "
                             "(predict_logit on the query repeated per candidate) | intra "
                             "(= factorized and expanded, 1 sub-batch, for BLAS threads > 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-peer", metavar="BENCH_DIR",
                        help="also time the PyTorch peer of ../shared/bench, interleaved")
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    modes = args.modes.split(",")
    splits = [int(s) for s in args.splits.split(",")]
    if "intra" in modes:
        modes, splits = ["factorized", "expanded"], [1]
    start = time.perf_counter()
    model = build_model(args.seed)
    print(f"model built in {time.perf_counter() - start:.1f} s; deep input "
          f"{model.deep_.input_dim}-d; OPENBLAS_NUM_THREADS={blas_threads}", flush=True)
    rng = np.random.default_rng(args.seed + 1)
    print(f"{'candidates':>10} {'mode':>11} {'split':>5} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'mean ms':>8} {'min ms':>8}")
    for n in (int(c) for c in args.candidates.split(",")):
        requests = [make_request(rng, n) for _ in range(args.requests)]
        calls, rankers = {}, []
        for mode in modes:
            if mode == "expanded":
                expanded = [expand(r) for r in requests]
                calls[(mode, 1)] = lambda r, e=expanded: model.predict_logit(e[r])
                continue
            for k in splits:
                ranker = Ranker(model, n_threads=k, first_layer=mode)
                rankers.append(ranker)
                calls[(mode, k)] = lambda r, ranker=ranker: ranker.rank(requests[r])
        pools = []
        if args.torch_peer:
            peer_calls, pools = torch_peer_calls(args.torch_peer, n, len(requests), splits,
                                                 args.torch_threads)
            calls.update(peer_calls)
        times = time_interleaved(calls, len(requests), args.warmup)
        for closable in rankers + pools:
            (closable.close if hasattr(closable, "close") else closable.shutdown)()
        for (mode, k), seconds in times.items():
            p50, p99, mean, low = percentiles(seconds)
            print(f"{n:>10} {mode:>11} {k:>5} {p50:8.2f} {p99:8.2f} {mean:8.2f} {low:8.2f}",
                  flush=True)
    print("PyTorch peer reference (other machine, 100 candidates, p50/p99 ms): "
          + ", ".join(f"{k} {a}/{b}" for k, (a, b) in PYTORCH_REFERENCE.items()))


if __name__ == "__main__":
    main()

"""Load on the model server (issue 13): HTTP p50/p99 and throughput against the in-process
`Ranker`, a model swap mid-run, and memory per server process.

The paper-sized model (Cheng et al. 2016, section 4.3), built from a `FeatureSpec` because
the server takes raw columns: 30 user fields and 6 item fields hashed into 1,000 buckets,
``installed_apps`` (a bag of 20 per user) and ``impression_app`` hashed into 200,000 rows,
every field a 32-d embedding: a 1,216-d deep input, ReLU 1024-512-256; wide: the 37 one-hot
fields plus ``installed_apps x impression_app`` (2^20 buckets). Fitted for one epoch on
random rows (the weights do not matter for speed). Requests: one user and 100 candidates.

Protocol:

0. concurrency 1 interleaved: each request ranked in process, then sent over HTTP to the
   1-worker server by the stdlib's `http.client` (one keep-alive connection), then by
   httpx (all see the same background load): p50 of each and of the per-request
   differences, and CPU per request of the in-process ranking, the server process and
   each client. The in-process side ranks the raw columns of the same request (the
   server's parse of the JSON, not timed), so it featurizes exactly what the server does
   and the difference is the server's JSON and HTTP work plus the client's;
1. in process: `Ranker.rank` on the raw-column requests (the server's parse of the same
   JSON, not timed) at concurrency 1 (one thread) and 8 (8 threads, one request each at a
   time): p50/p99 and requests/s;
2. concurrency 8 interleaved (the throughput target): the same requests ranked in process
   on 8 threads, then sent to the 1-worker server with 8 in flight, ``--c8-rounds`` times,
   the order alternating (in process first, then the server first...), so a change of the
   machine's background load hits both sides alike; requests/s of each side summed over
   the rounds, and CPU per request of the server process and of the load client (which
   shares the 2 cores with the server). Two real clients, each round: the asyncio httpx
   client of the levels below, and 8 threads of the stdlib's `http.client` (one keep-alive
   connection each; less client CPU per request);
3. the server (``python -m widedeep.server``, a subprocess, its default scoring threads
   and request batching unless ``--max-concurrent`` / ``--server-options`` say otherwise,
   one BLAS thread) with 1 and then 2 worker processes, driven over loopback by an asyncio
   httpx client keeping ``c`` requests in flight (c = 1, 8, 32), ``--requests`` per level
   (pre-encoded JSON bodies). Every non-200 answer or transport error counts as failed;
4. the swap under load, after the levels: with ``--swap-concurrency`` (8) requests in
   flight, a new version is dropped into the base path at the first request; the server
   gates and swaps it while the load goes on, which goes on until the new version has
   answered ``--swap-new-answers`` (50) requests (at most 20 x ``--requests``): failed
   requests, answers by each version, seconds until the new version's first answer;
5. memory: RSS, PSS (shared pages split between the processes that map them) and USS
   (private) of every server process with 1 and 4 workers, the tables memory-mapped.

Targets (issue 13): p50 at c = 1 within 2 ms of the in-process Ranker (step 0), 0 failed
requests through the swap (step 4), throughput at c = 8 at least 0.8x the in-process
Ranker's on 8 threads (step 2).

Until 2026-12-02 the swap happened halfway through the c = 8 level and the c = 8 throughput
was compared with an in-process run minutes earlier: saving the new version (in this
process, the client's) and gating it (in the server) ran during the server's c = 8 level
only, the two sides saw different background load, and whether the new version answered
any request under load depended on how fast the gate was (in the quiet run of 02:04 UTC
every c = 8 request was answered by version 1 and every c = 32 one by version 2: the swap
may have completed between the levels). Now the levels have no swap, the c = 8 target is
measured interleaved (step 2) and the swap has its own phase that runs until the new
version answers (step 4).

    OPENBLAS_NUM_THREADS=1 python benchmarks/serve_load.py            # ~3 min on 2 vCPUs
    OPENBLAS_NUM_THREADS=1 python benchmarks/serve_load.py --requests 60 --quick
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from widedeep.features import CrossedColumn, FeatureSpec, HashedColumn  # noqa: E402
from widedeep.io import save_model  # noqa: E402
from widedeep.records import Ragged  # noqa: E402
from widedeep.server import store_gate_data  # noqa: E402
from widedeep.server.limits import ServerLimits  # noqa: E402
from widedeep.server.request_body import parse_rank  # noqa: E402
from widedeep.serving import Ranker  # noqa: E402

NAME = "paper"
USER_FIELDS = [f"user_{i}" for i in range(30)]
ITEM_FIELDS = [f"item_{i}" for i in range(6)]


def build_model(n_apps, seed=0):
    columns = [HashedColumn(f, 1000, embedding_dim=32) for f in USER_FIELDS + ITEM_FIELDS]
    columns += [HashedColumn("installed_apps", n_apps, embedding_dim=32, wide=False,
                             combiner="mean"),
                HashedColumn("impression_app", n_apps, embedding_dim=32),
                CrossedColumn(["installed_apps", "impression_app"], hash_buckets=1 << 20)]
    spec = FeatureSpec(columns)
    rng = np.random.default_rng(seed)
    n = 2000
    batch = {f: rng.integers(0, 5000, n).astype(str).astype(object)
             for f in USER_FIELDS + ITEM_FIELDS}
    batch["installed_apps"] = Ragged(rng.integers(0, n_apps, 20 * n).astype(str),
                                     np.full(n, 20))
    batch["impression_app"] = rng.integers(0, n_apps, n).astype(str).astype(object)
    model = spec.build_estimator("wide_deep", hidden_units=(1024, 512, 256), epochs=1,
                                 batch_size=500, random_state=seed)
    model.fit(spec.transform(batch), (rng.random(n) < 0.3).astype(float))
    return spec, model


def request_bodies(n_requests, n_candidates, n_apps, seed=1):
    rng = np.random.default_rng(seed)
    bodies = []
    for _ in range(n_requests):
        query = {f: str(rng.integers(0, 5000)) for f in USER_FIELDS}
        query["installed_apps"] = rng.integers(0, n_apps, 20).astype(str).tolist()
        candidates = {f: rng.integers(0, 5000, n_candidates).astype(str).tolist()
                      for f in ITEM_FIELDS}
        candidates["impression_app"] = rng.integers(0, n_apps, n_candidates).astype(str).tolist()
        bodies.append({"query": query, "candidates": candidates, "top_k": 10})
    return bodies


def save_version(base, version, spec, model, warmup):
    staging = os.path.join(base, f".staging-{version}")
    save_model(model, staging, spec=spec)
    store_gate_data(staging, warmup)
    os.makedirs(os.path.join(base, NAME), exist_ok=True)
    os.rename(staging, os.path.join(base, NAME, str(version)))


# ---------------------------------------------------------------------- in process
def in_process(spec, model, bodies, concurrency):
    limits = ServerLimits()
    requests = [parse_rank(body, spec.raw_columns(), limits) for body in bodies]
    requests = [{"query": r.query, "candidates": r.candidates} for r in requests]
    ranker = Ranker(model, spec=spec)
    for request in requests[:5]:
        ranker.rank(request, top_k=10)
    latencies = []

    def one(request):
        start = time.perf_counter()
        ranker.rank(request, top_k=10)
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    if concurrency == 1:
        for request in requests:
            one(request)
    else:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, requests))
    elapsed = time.perf_counter() - start
    return _summary(latencies, len(requests), 0, elapsed)


# ---------------------------------------------------------------------- over HTTP
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(base, workers, max_concurrent=None, options=()):
    return start_server_command(
        [sys.executable, "-m", "widedeep.server", base, "--workers", str(workers),
         "--poll-seconds", "0.5", "--log-level", "warning",
         # the gate's dry run is not what is measured; the machine is shared
         "--latency-budget-ms", "5000"]
        + ([] if max_concurrent is None else ["--max-concurrent", str(max_concurrent)])
        + list(options), workers)


def start_server_command(command, workers=1):
    """Run ``command + ["--port", free port]``; ``(process, url)`` once /readyz answers 200."""
    port = free_port()
    process = subprocess.Popen(command + ["--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline, ready = time.monotonic() + 300, 0
    while time.monotonic() < deadline and process.poll() is None:
        try:
            ready = ready + 1 if httpx.get(f"{url}/readyz", timeout=2).status_code == 200 else 0
            if ready >= 3 * workers:
                return process, url
        except httpx.TransportError:
            ready = 0
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become ready")


async def drive(url, payloads, concurrency, on_start=None, until=None, max_requests=None):
    """Keep ``concurrency`` requests in flight until every payload is sent; with ``until``
    (a test of the list of answering versions so far) until it holds, cycling through the
    payloads, at most ``max_requests``. ``on_start`` runs in a thread at the first
    request."""
    latencies, versions, failed, first_answer = [], [], [], {}
    next_index = 0
    total = len(payloads) if until is None else max_requests
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if on_start is not None:
        threading.Thread(target=on_start).start()
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def worker():
            nonlocal next_index
            while next_index < total and not (until is not None and until(versions)):
                payload = payloads[next_index % len(payloads)]
                next_index += 1
                start = time.perf_counter()
                try:
                    answer = await client.post(f"{url}/v1/models/{NAME}:rank", content=payload,
                                               headers={"content-type": "application/json"})
                    if answer.status_code == 200:
                        latencies.append(time.perf_counter() - start)
                        version = answer.json()["model_version"]
                        versions.append(version)
                        first_answer.setdefault(str(version), time.perf_counter() - started)
                    else:
                        failed.append(answer.status_code)
                except httpx.HTTPError as error:
                    failed.append(repr(error))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    summary = _summary(latencies, next_index, len(failed), elapsed)
    summary["versions"] = {str(v): versions.count(v) for v in sorted(set(versions))}
    summary["first_answer_seconds"] = first_answer
    summary["failures"] = [str(f) for f in failed[:5]]
    return summary


class KeepAliveClient:
    """The leanest real HTTP/1.1 client of the standard library (`http.client`, one
    keep-alive connection, reopened if the server closed it): at concurrency 1 its own cost
    (~0.3 ms CPU a request) is a small part of the measured latency, where httpx's is
    ~1 ms."""

    def __init__(self, url):
        host, port = url.split("//")[1].split(":")
        self.host, self.port, self.connection = host, int(port), None

    def post(self, path, payload):
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request("POST", path, body=payload,
                                        headers={"content-type": "application/json"})
                answer = self.connection.getresponse()
                return answer.status, answer.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def interleaved_c1(url, spec, model, bodies, payloads, server):
    """Concurrency 1, in process and over HTTP **alternating request by request**, so all
    see the same background load on a shared machine: the same request ranked in process,
    then sent with the stdlib keep-alive client, then with httpx. p50/p99 of each and of
    the per-request differences (HTTP minus in-process, same request); and CPU per
    request: the ranking thread's in process, the server process's (all its threads; it
    answers both clients, so its total over 2 x n requests), each client's."""
    limits = ServerLimits()
    ranker = Ranker(model, spec=spec)
    path = f"/v1/models/{NAME}:rank"
    times = {"in_process": [], "stdlib": [], "httpx": []}
    cpu = {"in_process": 0.0, "stdlib": 0.0, "httpx": 0.0}
    stdlib = KeepAliveClient(url)
    with httpx.Client(timeout=60) as client:
        def via_httpx(payload):
            answer = client.post(url + path, content=payload,
                                 headers={"content-type": "application/json"})
            return answer.status_code

        server_cpu = _process_cpu(server)
        for body, payload in zip(bodies, payloads):
            parsed = parse_rank(body, spec.raw_columns(), limits)
            request = {"query": parsed.query, "candidates": parsed.candidates}
            for name, call in (("in_process", lambda: ranker.rank(request, top_k=10)),
                               ("stdlib", lambda: stdlib.post(path, payload)[0]),
                               ("httpx", lambda: via_httpx(payload))):
                cpu_start, start = time.thread_time(), time.perf_counter()
                status = call()
                times[name].append(time.perf_counter() - start)
                cpu[name] += time.thread_time() - cpu_start
                if name != "in_process" and status != 200:
                    raise SystemExit(f"interleaved run: HTTP {status} ({name} client)")
        server_cpu = _process_cpu(server) - server_cpu
    stdlib.close()
    n = len(bodies)
    ms = {name: np.array(values) * 1e3 for name, values in times.items()}
    out = {"requests": n}
    for name, values in ms.items():
        out[f"{name}_p50_ms"] = float(np.median(values))
        out[f"{name}_p99_ms"] = float(np.percentile(values, 99))
        out[f"{name}_cpu_ms"] = cpu[name] / n * 1e3
    for name in ("stdlib", "httpx"):
        out[f"{name}_difference_p50_ms"] = float(np.median(ms[name] - ms["in_process"]))
    out["server_cpu_ms"] = server_cpu / (2 * n) * 1e3
    out["server_cpu_overhead_ms"] = out["server_cpu_ms"] - out["in_process_cpu_ms"]
    out["load_average"] = os.getloadavg()
    return out


def drive_threads(url, payloads, concurrency):
    """Keep ``concurrency`` requests in flight with as many threads, each sending with the
    stdlib keep-alive client (`KeepAliveClient`), until every payload is sent."""
    latencies, failed, lock = [], [], threading.Lock()
    next_index = [0]
    path = f"/v1/models/{NAME}:rank"

    def worker():
        client = KeepAliveClient(url)
        try:
            while True:
                with lock:
                    if next_index[0] >= len(payloads):
                        return
                    payload = payloads[next_index[0]]
                    next_index[0] += 1
                start = time.perf_counter()
                try:
                    status, _ = client.post(path, payload)
                except (OSError, http.client.HTTPException) as error:
                    failed.append(repr(error))
                    continue
                if status == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    failed.append(status)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = _summary(latencies, len(payloads), len(failed), time.perf_counter() - start)
    summary["failures"] = [str(f) for f in failed[:5]]
    return summary


def interleaved_concurrent(url, spec, model, bodies, payloads, server, concurrency, rounds):
    """In process on ``concurrency`` threads and over HTTP with ``concurrency`` requests in
    flight (httpx asyncio, then stdlib threads), alternating round by round (the order
    reversed every other round): requests/s of each side summed over the rounds (total
    requests / total seconds), per-round ratios, CPU per request of the server process and
    of this process (the load client) while the server is driven."""
    sides = ("in_process", "httpx", "stdlib")
    rows = {side: [] for side in sides}
    for round_number in range(rounds):
        order = sides if round_number % 2 == 0 else sides[::-1]
        for side in order:
            server_start, client_start = _process_cpu(server), time.process_time()
            if side == "in_process":
                result = in_process(spec, model, bodies, concurrency)
            elif side == "httpx":
                result = asyncio.run(drive(url, payloads, concurrency))
            else:
                result = drive_threads(url, payloads, concurrency)
            if side != "in_process":
                result["server_cpu_ms"] = (_process_cpu(server) - server_start) / len(
                    payloads) * 1e3
                result["client_cpu_ms"] = (time.process_time() - client_start) / len(
                    payloads) * 1e3
            rows[side].append(result)
    out = {"concurrency": concurrency, "rounds": rounds, "requests": len(payloads),
           "load_average": os.getloadavg()}
    out.update(summarize_rounds(rows))
    for side, results in rows.items():
        if side != "in_process":
            out[side]["client_cpu_ms"] = float(np.mean([r["client_cpu_ms"] for r in results]))
            out[side]["ratio"] = out[side]["throughput"] / out["in_process"]["throughput"]
            out[side]["round_ratios"] = [
                r["throughput"] / i["throughput"] for r, i in zip(results, rows["in_process"])]
    return out


def summarize_rounds(rows):
    """``{side: {throughput, failed, p50_ms, round_throughputs[, server_cpu_ms]}}`` of the
    per-round results ``rows[side]``: throughput = requests answered over the rounds'
    summed seconds; server CPU per request averaged over the rounds (server sides)."""
    out = {}
    for side, results in rows.items():
        seconds = sum(r["requests"] / r["throughput"] for r in results)
        answered = sum(r["requests"] - r["failed"] for r in results)
        out[side] = {"throughput": answered / seconds,
                     "failed": sum(r["failed"] for r in results),
                     "p50_ms": float(np.median([r["p50_ms"] for r in results])),
                     "round_throughputs": [r["throughput"] for r in results]}
        if side != "in_process":
            out[side]["server_cpu_ms"] = float(np.mean([r["server_cpu_ms"] for r in results]))
    return out


def _process_cpu(process):
    """CPU seconds (user + system) of a process and its children so far."""
    total = 0.0
    for proc in [process] + process.children(recursive=True):
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def memory(process):
    """``[{"rss", "pss", "uss"} MB]`` of the server's worker processes (the master too)."""
    procs = [process] + [p for p in process.children(recursive=True)
                         if "resource_tracker" not in " ".join(p.cmdline())]
    out = []
    for proc in procs:
        info = proc.memory_full_info()
        out.append({"pid": proc.pid, "rss_mb": info.rss / 2 ** 20, "pss_mb": info.pss / 2 ** 20,
                    "uss_mb": info.uss / 2 ** 20})
    return out


def _summary(latencies, n, failed, elapsed):
    ms = np.array(latencies) * 1e3
    return {"requests": n, "failed": failed,
            "p50_ms": float(np.percentile(ms, 50)) if ms.size else float("nan"),
            "p99_ms": float(np.percentile(ms, 99)) if ms.size else float("nan"),
            "throughput": (n - failed) / elapsed}


def main(argv=None):
    parser = argparse.ArgumentParser(description="model server load benchmark")
    parser.add_argument("--requests", type=int, default=300, help="requests per level")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--apps", type=int, default=200_000, help="app hash buckets")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--memory-workers", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--max-concurrent", type=int, default=None,
                        help="the server's scoring threads (default: the server's default)")
    parser.add_argument("--server-options", default="",
                        help="more widedeep serve options, e.g. '--batch-max-rows 0' (no "
                             "request batching)")
    parser.add_argument("--c8-rounds", type=int, default=4,
                        help="rounds of the interleaved concurrency-8 comparison (0: skip)")
    parser.add_argument("--swap-concurrency", type=int, default=8,
                        help="requests in flight while the new version is swapped in")
    parser.add_argument("--swap-new-answers", type=int, default=50,
                        help="the swap phase lasts until the new version answered this many")
    parser.add_argument("--quick", action="store_true", help="small model, few requests")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.apps = 20_000

    print(f"building the model ({args.apps:,} app buckets) ...", file=sys.stderr)
    spec, model = build_model(args.apps)
    print(f"deep input {model.deep_.input_dim}-d, layers 1024-512-256", file=sys.stderr)
    bodies = request_bodies(args.requests, args.candidates, args.apps)
    payloads = [json.dumps(body).encode() for body in bodies]
    results = {"in_process": {}, "server": {}, "memory": {}, "setup": vars(args)}
    for concurrency in (1, 8):
        results["in_process"][str(concurrency)] = in_process(spec, model, bodies, concurrency)
        print(f"in process c={concurrency}: {results['in_process'][str(concurrency)]}",
              file=sys.stderr)

    base_root = tempfile.mkdtemp(prefix="widedeep-serve-load-")
    try:
        second = build_model(args.apps, seed=1)
        for workers in args.workers:
            base = os.path.join(base_root, f"w{workers}")
            save_version(base, 1, spec, model, bodies[:8])
            process, url = start_server(base, workers, args.max_concurrent,
                                        shlex.split(args.server_options))
            server = psutil.Process(process.pid)
            level = {}
            try:
                if workers == 1:
                    results["interleaved_c1"] = interleaved_c1(url, spec, model, bodies,
                                                               payloads, server)
                    print(f"interleaved c=1: {results['interleaved_c1']}", file=sys.stderr)
                    if args.c8_rounds:
                        results["interleaved_c8"] = interleaved_concurrent(
                            url, spec, model, bodies, payloads, server, 8, args.c8_rounds)
                        print(f"interleaved c=8: {results['interleaved_c8']}",
                              file=sys.stderr)
                for concurrency in args.concurrency:
                    level[str(concurrency)] = asyncio.run(drive(url, payloads, concurrency))
                    print(f"server workers={workers} c={concurrency}: {level[str(concurrency)]}",
                          file=sys.stderr)
                level["swap"] = asyncio.run(drive(
                    url, payloads, args.swap_concurrency,
                    on_start=lambda base=base: save_version(base, 2, *second, bodies[:8]),
                    until=lambda versions: versions.count(2) >= args.swap_new_answers,
                    max_requests=20 * args.requests))
                level["swap"]["concurrency"] = args.swap_concurrency
                print(f"server workers={workers} swap: {level['swap']}", file=sys.stderr)
                level["memory"] = memory(server)
                level["status"] = httpx.get(f"{url}/v1/models/{NAME}").json()
            finally:
                process.terminate()
                process.wait(timeout=60)
            results["server"][str(workers)] = level
        for workers in args.memory_workers:
            base = os.path.join(base_root, f"m{workers}")
            save_version(base, 1, spec, model, bodies[:8])
            process, url = start_server(base, workers, args.max_concurrent,
                                        shlex.split(args.server_options))
            try:
                asyncio.run(drive(url, payloads[:8 * workers], 4))
                results["memory"][str(workers)] = memory(psutil.Process(process.pid))
            finally:
                process.terminate()
                process.wait(timeout=60)
    finally:
        shutil.rmtree(base_root, ignore_errors=True)
    print_tables(results, args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


def print_tables(results, args):
    print(f"\n{args.requests} requests per level, {args.candidates} candidates, "
          f"server --max-concurrent {args.max_concurrent or '(default)'} "
          f"{args.server_options}, one BLAS thread")
    print("| where | workers | concurrency | p50 ms | p99 ms | requests/s | failed | "
          "answered by version |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for concurrency, r in results["in_process"].items():
        print(f"| in-process Ranker | - | {concurrency} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['throughput']:.1f} | - | - |")
    for workers, levels in results["server"].items():
        for concurrency in map(str, args.concurrency):
            r = levels[concurrency]
            versions = ", ".join(f"v{v}: {n}" for v, n in r["versions"].items())
            print(f"| HTTP server | {workers} | {concurrency} | {r['p50_ms']:.1f} | "
                  f"{r['p99_ms']:.1f} | {r['throughput']:.1f} | {r['failed']} | {versions} |")
        if "swap" in levels:
            r = levels["swap"]
            versions = ", ".join(f"v{v}: {n}" for v, n in r["versions"].items())
            first = r["first_answer_seconds"].get("2")
            print(f"| HTTP server, swap to v2 under load ({r['requests']} requests; v2 first "
                  f"answered after {first if first is None else round(first, 1)} s) | "
                  f"{workers} | {r['concurrency']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                  f"{r['throughput']:.1f} | {r['failed']} | {versions} |")
    if "interleaved_c1" in results:
        r = results["interleaved_c1"]
        print(f"\nconcurrency 1, interleaved request by request ({r['requests']} requests, "
              f"load average {r['load_average'][0]:.2f}):")
        print("| client | p50 ms | p99 ms | median difference to in-process ms | client CPU "
              "ms/request |")
        print("|---|---:|---:|---:|---:|")
        print(f"| in-process Ranker | {r['in_process_p50_ms']:.2f} | "
              f"{r['in_process_p99_ms']:.2f} | - | {r['in_process_cpu_ms']:.2f} (ranking) |")
        for name, label in (("stdlib", "HTTP, http.client keep-alive"),
                            ("httpx", "HTTP, httpx.Client")):
            print(f"| {label} | {r[name + '_p50_ms']:.2f} | {r[name + '_p99_ms']:.2f} | "
                  f"{r[name + '_difference_p50_ms']:.2f} | {r[name + '_cpu_ms']:.2f} |")
        print(f"server CPU {r['server_cpu_ms']:.2f} ms/request vs in-process ranking "
              f"{r['in_process_cpu_ms']:.2f} ms: server overhead "
              f"{r['server_cpu_overhead_ms']:.2f} ms CPU/request")
    if "interleaved_c8" in results:
        r = results["interleaved_c8"]
        print(f"\nconcurrency 8, interleaved round by round ({r['rounds']} rounds x "
              f"{r['requests']} requests per side, 1 server worker, load average "
              f"{r['load_average'][0]:.2f}):")
        print("| side | requests/s (all rounds) | p50 ms | ratio to in-process | per-round "
              "ratios | server CPU ms/request | client CPU ms/request | failed |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        i = r["in_process"]
        print(f"| in-process Ranker, 8 threads | {i['throughput']:.1f} | {i['p50_ms']:.0f} | - | "
              f"- | - | - | - |")
        for side, label in (("httpx", "HTTP, httpx asyncio"),
                            ("stdlib", "HTTP, http.client x 8 threads")):
            h = r[side]
            rounds = ", ".join(f"{x:.2f}" for x in h["round_ratios"])
            print(f"| {label} | {h['throughput']:.1f} | {h['p50_ms']:.0f} | {h['ratio']:.2f} | "
                  f"{rounds} | {h['server_cpu_ms']:.2f} | {h['client_cpu_ms']:.2f} | "
                  f"{h['failed']} |")
    print("\n| workers | process | RSS MB | PSS MB | USS (private) MB |")
    print("|---:|---|---:|---:|---:|")
    for workers, processes in results["memory"].items():
        for k, p in enumerate(processes):
            role = "master" if k == 0 and int(workers) > 1 else "worker"
            print(f"| {workers} | {role} | {p['rss_mb']:.0f} | {p['pss_mb']:.0f} | "
                  f"{p['uss_mb']:.0f} |")
        total = sum(p["pss_mb"] for p in processes)
        print(f"| {workers} | total PSS | | {total:.0f} | |")


if __name__ == "__main__":
    sys.exit(main())

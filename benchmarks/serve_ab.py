"""A/B of model server settings (issue 13): servers of one model, each started with its own
options, measured interleaved against the in-process `Ranker` in one run.

The paper-sized model and requests of `serve_load.py`. Every server (one worker process
each, started once, idle while another is measured) and the in-process Ranker see the same
background load:

- concurrency 8 (``--concurrency``), ``--rounds`` rounds: the in-process Ranker on 8
  threads (one request each at a time, `serve_load.in_process`), then every server driven
  by the asyncio httpx client and by 8 threads of `http.client`, the order reversed every other round; requests/s of
  each (total requests / total seconds), its ratio to the in-process Ranker's, and the
  server process's CPU per request;
- concurrency 1, request by request: the same request ranked in process, then sent to each
  server by `http.client` (one keep-alive connection each): p50, and the median of the
  per-request differences to the in-process time.

    OPENBLAS_NUM_THREADS=1 python benchmarks/serve_ab.py \\
        --server "pool8=--max-concurrent 8 --batch-max-rows 0" \\
        --server "pool2+batch=--max-concurrent 2 --batch-max-rows 1000"
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load  # noqa: E402  (sets the BLAS thread variables first)

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from widedeep.server.limits import ServerLimits  # noqa: E402
from widedeep.server.request_body import parse_rank  # noqa: E402
from widedeep.serving import Ranker  # noqa: E402


def start(base, options):
    command = [sys.executable, "-m", "widedeep.server", base, "--workers", "1",
               "--poll-seconds", "0.5", "--log-level", "warning",
               "--latency-budget-ms", "5000"] + shlex.split(options)
    process, url = serve_load.start_server_command(command)
    return process, url, psutil.Process(process.pid)


def concurrent_rounds(servers, spec, model, bodies, payloads, rounds, concurrency):
    sides = ["in_process"] + [f"{label}/{client}" for label in servers
                              for client in ("httpx", "stdlib")]
    rows = {side: [] for side in sides}
    for round_number in range(rounds):
        for side in sides if round_number % 2 == 0 else sides[::-1]:
            if side == "in_process":
                rows[side].append(serve_load.in_process(spec, model, bodies, concurrency))
                continue
            label, client = side.split("/")
            _, url, server = servers[label]
            cpu = serve_load._process_cpu(server)
            result = asyncio.run(serve_load.drive(url, payloads, concurrency)) \
                if client == "httpx" else serve_load.drive_threads(url, payloads, concurrency)
            result["server_cpu_ms"] = (serve_load._process_cpu(server) - cpu) / len(
                payloads) * 1e3
            rows[side].append(result)
    out = serve_load.summarize_rounds(rows)
    for side in sides[1:]:
        out[side]["ratio"] = out[side]["throughput"] / out["in_process"]["throughput"]
    return out


def c1_interleaved(servers, spec, model, bodies, payloads):
    limits, ranker = ServerLimits(), Ranker(model, spec=spec)
    path = f"/v1/models/{serve_load.NAME}:rank"
    clients = {label: serve_load.KeepAliveClient(url) for label, (_, url, _) in servers.items()}
    times = {name: [] for name in ["in_process", *servers]}
    for body, payload in zip(bodies, payloads):
        parsed = parse_rank(body, spec.raw_columns(), limits)
        request = {"query": parsed.query, "candidates": parsed.candidates}
        start = time.perf_counter()
        ranker.rank(request, top_k=10)
        times["in_process"].append(time.perf_counter() - start)
        for label, client in clients.items():
            start = time.perf_counter()
            status, _ = client.post(path, payload)
            times[label].append(time.perf_counter() - start)
            if status != 200:
                raise SystemExit(f"c=1: HTTP {status} from {label}")
    for client in clients.values():
        client.close()
    ms = {name: np.array(values) * 1e3 for name, values in times.items()}
    return {name: {"p50_ms": float(np.median(values)),
                   **({} if name == "in_process" else
                      {"difference_p50_ms": float(np.median(values - ms["in_process"]))})}
            for name, values in ms.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description="interleaved A/B of server settings")
    parser.add_argument("--server", action="append", required=True, metavar="LABEL=OPTIONS",
                        help="a server to compare: a label and its widedeep serve options")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8,
                        help="requests in flight in the rounds (and in-process threads)")
    parser.add_argument("--c1-requests", type=int, default=100, help="0: no c = 1 part")
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--apps", type=int, default=200_000)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    spec, model = serve_load.build_model(args.apps)
    bodies = serve_load.request_bodies(args.requests, args.candidates, args.apps)
    payloads = [json.dumps(body).encode() for body in bodies]
    base = tempfile.mkdtemp(prefix="widedeep-serve-ab-")
    servers = {}
    results = {"setup": vars(args), "load_average_start": os.getloadavg()}
    try:
        serve_load.save_version(base, 1, spec, model, bodies[:8])
        for item in args.server:
            label, _, options = item.partition("=")
            servers[label] = start(base, options)
        for _, url, _ in servers.values():   # warm every server up alike
            asyncio.run(serve_load.drive(url, payloads[:40], 8))
        if args.c1_requests:
            results["c1"] = c1_interleaved(servers, spec, model, bodies[:args.c1_requests],
                                           payloads[:args.c1_requests])
            print(json.dumps(results["c1"], indent=1), file=sys.stderr)
        if args.rounds:
            results["c8" if args.concurrency == 8 else f"c{args.concurrency}"] = \
                concurrent_rounds(servers, spec, model, bodies, payloads, args.rounds,
                                  args.concurrency)
        results["load_average_end"] = os.getloadavg()
    finally:
        for process, _, _ in servers.values():
            process.terminate()
            process.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(results, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the model server's CPU goes on one ``:rank`` request (issue 13), in CPU time.

The paper-sized model and requests of `serve_load.py` (1,216-d deep input, ReLU
1024-512-256, one user and 100 candidates). Every part is timed with the CPU clock
(`time.process_time`: this process, all threads), ``--requests`` different requests per
part, parts interleaved and repeated ``--rounds`` times; the median round is reported, so a
busy machine inflates every part alike instead of whichever ran during a burst.

In process:

- ``ranker``: `Ranker.rank` on the raw columns parsed from the JSON (what the in-process
  side of `serve_load.py` measures; the server does exactly this work too);
- ``json_decode``: the body's bytes to Python objects (`parse_json`);
- ``json_to_columns``: those objects to checked column arrays (`parse_rank`);
- ``answer``: the ranked result to the answer's JSON bytes;
- ``asgi_dispatch``: the whole ASGI app called directly (no socket) with the scoring replaced
  by a stub returning a fixed answer: routing, reading the body, taking the version, the hop
  to a scoring thread and back, metrics; ``thread_hop`` is that hop alone (a no-op).

Over HTTP (a ``widedeep serve``-equivalent uvicorn subprocess, the stdlib keep-alive client
of `serve_load.py`, ``--http-requests`` requests): the server process's CPU per request with
the real scoring (``server_total``) and with the stub (``server_stub``; minus
``asgi_dispatch`` = uvicorn's HTTP parsing and writing, and its event loop's socket work).
Inside the real server each part's CPU is also counted on the thread doing it (the scoring
thread's decode, columns, `Ranker.rank`, answer; the rest is the event loop thread and the
kernel): parts cost more there than in the loops above (their caches are cold after the
Ranker's 15 ms and the machine's other jobs), and the server overhead is the server's CPU
minus its own `Ranker.rank`.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_serve.py              # ~2 min
    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_serve.py --cprofile   # + cProfile
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import shutil
import signal
import sys
import tempfile
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_load  # noqa: E402

from widedeep.server import answers  # noqa: E402
from widedeep.server import app as app_module  # noqa: E402
from widedeep.server.batching import RankJob  # noqa: E402
from widedeep.server.pool import ScoringPool  # noqa: E402
from widedeep.server.config import ServerConfig  # noqa: E402
from widedeep.server.request_body import RankRequest, parse_json, parse_rank  # noqa: E402
from widedeep.server.versions import ModelRepository  # noqa: E402

PATH = f"/v1/models/{serve_load.NAME}:rank"


_STUB_REQUEST = RankRequest(query={}, candidates={}, n_candidates=100, top_k=10,
                            explain=False)


def stub_scoring(answer):
    """Replace the server's parsing and scoring of a :rank body by returning ``answer``
    (bytes); returns the function that undoes it."""
    real = answers.rank, answers.parse_rank_body, answers.rank_parsed
    answers.rank = lambda loaded, body, limits, repository: answer
    answers.parse_rank_body = lambda loaded, body, limits: _STUB_REQUEST
    answers.rank_parsed = lambda loaded, request, limits, repository: answer

    def restore():
        answers.rank, answers.parse_rank_body, answers.rank_parsed = real
    return restore


def http_scope(body):
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": "POST", "scheme": "http", "path": PATH,
            "raw_path": PATH.encode(), "query_string": b"", "root_path": "",
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8501),
            "headers": [(b"host", b"127.0.0.1:8501"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]}


async def call_app(app, body):
    """One request through the ASGI app, no socket; returns the status."""
    messages = []
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)

    await app(http_scope(body), receive, send)
    return messages[0]["status"]


def new_event_loop():
    """uvloop's loop when installed (uvicorn's choice with ``loop="auto"``)."""
    try:
        import uvloop
        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def cpu_ms_per_call(function, items):
    start = time.process_time()
    for item in items:
        function(item)
    return (time.process_time() - start) / len(items) * 1e3


def in_process_parts(app, repository, payloads, rounds, answer_stub):
    loaded = repository.serving(serve_load.NAME)
    ranker, kinds, limits = loaded.ranker(None), loaded.kinds, repository.limits
    decoded = [parse_json(p) for p in payloads]
    parsed = [parse_rank(d, kinds, limits) for d in decoded]
    columns = [{"query": r.query, "candidates": r.candidates} for r in parsed]
    results = [ranker.rank(c, top_k=r.top_k) for c, r in zip(columns, parsed)]
    pairs = list(zip(parsed, results))
    loop = new_event_loop()
    pool = ScoringPool(1, 1)

    def dispatch(body):
        if loop.run_until_complete(call_app(app, body)) != 200:
            raise SystemExit("the stubbed app did not answer 200")

    def hop(_):
        loop.run_until_complete(pool.run(int))

    parts = {
        "ranker": lambda: cpu_ms_per_call(lambda c: ranker.rank(c, top_k=10), columns),
        "json_decode": lambda: cpu_ms_per_call(parse_json, payloads),
        "json_to_columns": lambda: cpu_ms_per_call(lambda d: parse_rank(d, kinds, limits),
                                                   decoded),
        "answer": lambda: cpu_ms_per_call(
            lambda pair: answers.rank_answer(loaded, pair[0], pair[1], limits), pairs),
        "asgi_dispatch": lambda: cpu_ms_per_call(dispatch, payloads),
        "thread_hop": lambda: cpu_ms_per_call(hop, payloads),
    }
    rows = {name: [] for name in parts}
    restore = stub_scoring(answer_stub)
    try:
        for name, part in parts.items():   # warm up
            part()
        for _ in range(rounds):
            for name, part in parts.items():
                rows[name].append(part())
    finally:
        restore()
        pool.close()
        loop.close()
    return {name: float(np.median(values)) for name, values in rows.items()}


def http_parts(base, payloads, http_requests, http, loop):
    out = {}
    for stub in (False, True):
        cpu_file = os.path.join(base, "ranker_cpu.json")
        command = [sys.executable, os.path.abspath(__file__), "--serve", base,
                   "--http", http, "--loop", loop, "--ranker-cpu-file", cpu_file] + \
            (["--stub"] if stub else [])
        process, url = serve_load.start_server_command(command)
        try:
            import psutil
            server = psutil.Process(process.pid)
            client = serve_load.KeepAliveClient(url)
            sample = [payloads[i % len(payloads)] for i in range(http_requests)]
            for payload in sample[:10]:
                client.post(PATH, payload)
            server_start = serve_load._process_cpu(server)
            client_start = time.thread_time()
            for payload in sample:
                status, _ = client.post(PATH, payload)
                if status != 200:
                    raise SystemExit(f"HTTP {status}")
            client_cpu = time.thread_time() - client_start
            server_cpu = serve_load._process_cpu(server) - server_start
            client.close()
        finally:
            process.terminate()
            process.wait(timeout=60)
        name = "server_stub" if stub else "server_total"
        if not stub:
            with open(cpu_file) as handle:
                timers = json.load(handle)
            # one request at a time: every job is prepared once and run in a batch of one
            calls = timers["scoring_thread_run"][1]
            timers["scoring_thread_in_server"] = [
                timers.pop("scoring_thread_prepare")[0] + timers.pop("scoring_thread_run")[0],
                calls]
            for label, (seconds, _) in timers.items():
                out[label] = seconds / calls * 1e3
            out["gc_collections_per_request"] = timers["gc_in_server"][1] / calls
        out[name] = server_cpu / http_requests * 1e3
        out[f"client_{name}"] = client_cpu / http_requests * 1e3
    return out


def serve_subprocess(args):
    """The ``--serve`` mode: what ``widedeep serve BASE`` runs, optionally with the stub."""
    import uvicorn
    config = ServerConfig(model_base=args.serve, port=args.port, poll_seconds=0)
    if args.stub:
        stub_scoring(json.dumps({"model_version": 1, "n_candidates": 100, "ranked": [
            {"index": i, "score": 0.5, "probability": 0.6} for i in range(10)]}).encode())
    from widedeep.serving import Ranker
    timers = {}

    def time_calls(owner, attribute, label):
        """Count the calling thread's CPU in ``owner.attribute`` under ``label``."""
        function, totals = getattr(owner, attribute), timers.setdefault(label, [0.0, 0])
        static = isinstance(inspect.getattr_static(owner, attribute), staticmethod)

        def timed(*call_args, **kwargs):
            start = time.thread_time()
            try:
                return function(*call_args, **kwargs)
            finally:
                totals[0] += time.thread_time() - start
                totals[1] += 1
        setattr(owner, attribute, staticmethod(timed) if static else timed)

    time_calls(Ranker, "rank", "ranker_in_server")
    time_calls(answers, "parse_json", "json_decode_in_server")
    time_calls(answers, "parse_rank", "json_to_columns_in_server")
    time_calls(answers, "rank_answer", "answer_in_server")
    # all the scoring thread's work on a request: parsing it, then ranking and answering
    time_calls(RankJob, "prepare", "scoring_thread_prepare")
    time_calls(RankJob, "run_batch", "scoring_thread_run")
    gc_cpu, gc_started = [0.0, 0], [0.0]

    def time_collections(phase, info):   # the garbage collector's CPU, any thread
        if phase == "start":
            gc_started[0] = time.process_time()
        else:
            gc_cpu[0] += time.process_time() - gc_started[0]
            gc_cpu[1] += 1

    gc.callbacks.append(time_collections)

    def write_ranker_cpu(*_):
        # uvicorn re-raises the SIGTERM it caught once it has shut down: this handler
        # (the one it found installed) then writes the counts
        with open(args.ranker_cpu_file, "w") as handle:
            json.dump({**timers, "gc_in_server": gc_cpu}, handle)
        os._exit(0)

    signal.signal(signal.SIGTERM, write_ranker_cpu)
    uvicorn.run(app_module.create_app(config), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False, http=args.http, loop=args.loop)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http-requests", type=int, default=300)
    parser.add_argument("--apps", type=int, default=200_000)
    parser.add_argument("--http", default="auto", help="uvicorn's --http (auto, h11, httptools)")
    parser.add_argument("--loop", default="auto", help="uvicorn's --loop (auto, asyncio, uvloop)")
    parser.add_argument("--no-http", action="store_true", help="only the in-process parts")
    parser.add_argument("--cprofile", action="store_true",
                        help="also print cProfile of the scoring thread's work")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=8501, help=argparse.SUPPRESS)
    parser.add_argument("--stub", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ranker-cpu-file", default=os.devnull, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve_subprocess(args)

    load_start = os.getloadavg()
    spec, model = serve_load.build_model(args.apps)
    bodies = serve_load.request_bodies(args.requests, 100, args.apps)
    payloads = [json.dumps(body).encode() for body in bodies]
    base = tempfile.mkdtemp(prefix="widedeep-profile-serve-")
    try:
        serve_load.save_version(base, 1, spec, model, bodies[:8])
        repository = ModelRepository(base)
        app = app_module.create_app(ServerConfig(model_base=base, poll_seconds=0), repository)
        repository.start(0)
        loaded = repository.serving(serve_load.NAME)
        answer_stub = answers.rank(loaded, payloads[0], repository.limits, repository)
        results = in_process_parts(app, repository, payloads, args.rounds, answer_stub)
        if args.cprofile:
            print_cprofile(loaded, repository, payloads)
        repository.stop()
        if not args.no_http:
            results.update(http_parts(base, payloads, args.http_requests, args.http, args.loop))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    results["load_average"] = [load_start, os.getloadavg()]
    print_table(results, args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


def print_cprofile(loaded, repository, payloads):
    import cProfile
    import pstats
    profile = cProfile.Profile()
    profile.enable()
    for payload in payloads:
        answers.rank(loaded, payload, repository.limits, repository)
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


def print_table(r, args):
    print(f"\nCPU ms per :rank request (median of {args.rounds} rounds x {args.requests} "
          f"requests; load average {r['load_average'][0][0]:.2f} -> "
          f"{r['load_average'][1][0]:.2f})")
    print("| part | CPU ms/request |\n|---|---:|")
    server_side = ("json_decode", "json_to_columns", "answer", "asgi_dispatch")
    for name in ("ranker",) + server_side + ("thread_hop",):
        print(f"| {name} | {r[name]:.3f} |")
    overhead_in_process = sum(r[name] for name in server_side)
    print(f"| server overhead in process (decode + columns + answer + dispatch) | "
          f"{overhead_in_process:.3f} |")
    if "server_total" in r:
        http = r["server_stub"] - r["asgi_dispatch"]
        print(f"| HTTP server, stubbed scoring (server_stub) | {r['server_stub']:.3f} |")
        print(f"| uvicorn HTTP + socket (server_stub - asgi_dispatch) | {http:.3f} |")
        print(f"| HTTP server, real scoring (server_total) | {r['server_total']:.3f} |")
        print("| **inside the server** (CPU of the thread doing each part) | |")
        for label in ("ranker", "json_decode", "json_to_columns", "answer"):
            print(f"| {label} in the server | {r[label + '_in_server']:.3f} |")
        print(f"| the scoring thread's whole work | {r['scoring_thread_in_server']:.3f} |")
        print(f"| the rest: event loop thread + kernel (server_total - scoring thread) | "
              f"{r['server_total'] - r['scoring_thread_in_server']:.3f} |")
        print(f"| garbage collection ({r['gc_collections_per_request']:.1f} collections/request) | "
              f"{r['gc_in_server']:.3f} |")
        print(f"| **server overhead** (server_total - Ranker.rank in the server) | "
              f"{r['server_total'] - r['ranker_in_server']:.3f} |")
        print(f"| client CPU (http.client), real / stub | {r['client_server_total']:.3f} / "
              f"{r['client_server_stub']:.3f} |")


if __name__ == "__main__":
    sys.exit(main())

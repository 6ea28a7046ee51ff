"""Training throughput on a quiet vs a busy machine (one competing CPU-bound process), for
widedeep's default thread setting, widedeep with 2 BLAS threads, and the PyTorch peer with
its default (one intra-op thread per core) and with 1 thread.

Each cell is a fresh process running the shared benchmark protocol (``../shared/bench``,
criteo-like data, MLP 400-400-400): ``benchmarks/widedeep_bench.py`` / ``torch_wd.py``
``--config criteo --steps S --warmup W --repeats R``. "busy" starts ``python -c 'while True:
pass'`` before the run and stops it after. Cells run interleaved (quiet, busy, quiet, ...)
so drift of the shared machine hits every column alike. Prints a Markdown table.

    WD_BENCH_DATA=/tmp/wdbench_data python benchmarks/threads_busy.py --batch 1024
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_BENCH = Path(os.environ.get("WD_SHARED_BENCH", HERE.parent.parent / "shared" / "bench"))

# name -> (command, extra environment)
def _cells(args):
    common = ["--config", "criteo", "--batch", str(args.batch), "--steps", str(args.steps),
              "--warmup", str(args.warmup), "--repeats", str(args.repeats),
              "--infer-batches", "2", "--tag", "threads_busy"]
    widedeep = [sys.executable, str(HERE / "widedeep_bench.py"), *common, "--threads", "2"]
    torch = [sys.executable, str(SHARED_BENCH / "torch_wd.py"), *common]
    return {
        "widedeep, default (n_threads=None: 1 BLAS thread)": (widedeep, {"WD_N_THREADS": "default"}),
        "widedeep, n_threads=2": (widedeep, {"WD_N_THREADS": "2"}),
        "PyTorch peer, default (2 threads)": (torch + ["--threads", "2"], {}),
        "PyTorch peer, 1 thread": (torch + ["--threads", "1"], {}),
    }


def _run(command, extra_env, busy):
    env = dict(os.environ, **extra_env)
    env.setdefault("WD_BENCH_RESULTS", "/tmp/wd_threads_busy_results")
    competitor = None
    if busy:
        competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800,
                              cwd=str(HERE.parent))
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
    match = re.search(r"train: (\d+) ex/s", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n"
                           f"{done.stderr[-2000:]}")
    return float(match.group(1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per cell")
    args = parser.parse_args(argv)
    cells = _cells(args)
    results = {(name, busy): [] for name in cells for busy in (False, True)}
    for round_number in range(args.rounds):
        for name, (command, env) in cells.items():
            for busy in (False, True):
                rate = _run(command, env, busy)
                results[(name, busy)].append(rate)
                print(f"round {round_number}: {name:<52} {'busy ' if busy else 'quiet'} "
                      f"{rate:>9,.0f} ex/s", file=sys.stderr, flush=True)
    print(f"| criteo-like, batch {args.batch} | quiet ex/s | busy ex/s | busy / quiet |")
    print("|---|---|---|---|")
    for name in cells:
        quiet = statistics.median(results[(name, False)])
        busy = statistics.median(results[(name, True)])
        print(f"| {name} | {quiet:,.0f} | {busy:,.0f} | {busy / quiet:.2f} |")


if __name__ == "__main__":
    main()

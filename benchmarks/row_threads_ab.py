"""Interleaved A/B of a train step's row threads (`widedeep.row_threads`), one process.

    WD_BENCH_DATA=/tmp/wdbench_data OPENBLAS_NUM_THREADS=2 \\
        python benchmarks/row_threads_ab.py --config criteo --rounds 8 --steps 20

The benchmark's model (``widedeep_bench.build_estimator``, ``n_threads`` = the BLAS
threads) trains on the shared benchmark's batches; every round times ``--steps`` steps
with ``step_.threads = 1`` (the elementwise phases on the calling thread) and as many with
``step_.threads = n`` (split over ``n`` threads between the GEMMs), alternating which
goes first. Reported per mode: median ms per step over rounds, wall and process CPU
time (CPU counts every thread of the process), the calling thread's own CPU time (with
one BLAS thread, what stays on the step's critical path; a loaded machine disturbs it far
less than wall time) and the per-round wall ratio. The batch
features are built before timing (``prepare`` is not timed). Parameters are the same in
both modes (tests/training/test_row_threads_step.py), so the model keeps training as one.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
    os.environ.setdefault("OMP_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"])

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import widedeep_bench as wb  # noqa: E402  (puts the repo and ../shared/bench on sys.path)
import common  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="criteo", choices=["criteo", "adult", "paper"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int,
                    default=int(os.environ.get("OPENBLAS_NUM_THREADS", "2")),
                    help="the row threads compared with 1 (default: the BLAS threads)")
    ap.add_argument("--blas", type=int, help="the estimator's n_threads (BLAS threads; "
                    "default --threads)")
    a = ap.parse_args(argv)
    hp = common.hparams(a.config)
    if a.batch:
        hp["batch"] = a.batch
    batch = hp["batch"]
    blas = a.threads if a.blas is None else a.blas
    est, batches = wb.model_and_batches(a.config, hp, blas)
    n_batches = len(batches)
    modes = [1, a.threads]
    times = {m: {"wall": [], "cpu": [], "main": []} for m in modes}
    ratios, k = [], 0
    for r in range(a.rounds):
        order = modes if r % 2 == 0 else modes[::-1]
        wall = {}
        for mode in order:
            est.step_.threads = mode
            est.partial_fit(*batches[k % n_batches])   # one untimed step after the switch
            k += 1
            t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
            for _ in range(a.steps):
                est.partial_fit(*batches[k % n_batches])
                k += 1
            wall[mode] = (time.perf_counter() - t0) / a.steps * 1e3
            times[mode]["wall"].append(wall[mode])
            times[mode]["cpu"].append((time.process_time() - c0) / a.steps * 1e3)
            times[mode]["main"].append((time.thread_time() - m0) / a.steps * 1e3)
        ratios.append(wall[modes[0]] / wall[modes[1]])
    load = os.getloadavg()[0]
    print(f"config={a.config} batch={batch} BLAS threads={blas} rounds={a.rounds} "
          f"steps/round={a.steps} load(1 min, after)={load:.2f}")
    for mode in modes:
        w, c = np.median(times[mode]["wall"]), np.median(times[mode]["cpu"])
        m = np.median(times[mode]["main"])
        print(f"step_.threads={mode}: wall {w:7.2f} ms/step ({batch / w * 1e3:,.0f} ex/s), "
              f"CPU {c:7.2f} ms/step, calling thread's CPU {m:7.2f} ms/step")
    print("per-round wall speed-up (threads=1 time / threads=n time): "
          + " ".join(f"{x:.3f}" for x in ratios) + f"; median {np.median(ratios):.3f}")


if __name__ == "__main__":
    main()

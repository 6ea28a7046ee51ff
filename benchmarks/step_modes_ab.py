"""Interleaved A/B of ways to run a Criteo-like train step, in one process (issue 12).

    WD_BENCH_DATA=/tmp/wdbench_data OPENBLAS_NUM_THREADS=2 \\
        python benchmarks/step_modes_ab.py --modes plain overlap rows --rounds 12 --steps 10

The benchmark's model (``widedeep_bench.build_estimator``, ``n_threads`` = the BLAS
threads) trains on the shared benchmark's batches (features built before timing). Modes,
all giving the same parameters:

- plain: ``partial_fit`` as the library runs it by default;
- overlap: ``step_.overlap = True`` (`widedeep.training.overlap`: the sparse half on a
  helper thread, BLAS at one thread meanwhile when it has more);
- rows: ``step_.threads = 2`` (`widedeep.row_threads`: elementwise phases split between
  the products).

Every round times ``--steps`` steps of each mode (one untimed step after each switch),
alternating which goes first. Per round it also records how many cores other processes
used (``/proc/stat`` busy time minus this process's CPU time, ~10 ms resolution): rounds
where that exceeds ``--max-foreign`` are dropped, so a shared machine's busy stretches do
not decide the comparison. Reported per mode: median wall ms per step, the process's CPU
time (every thread, OpenBLAS's spinning workers included) and the calling thread's.
OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` (how long its idle workers spin) at import:
compare runs with and without it.
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

import widedeep_bench as wb  # noqa: E402
import common  # noqa: E402


def machine_busy_seconds():
    """CPU seconds every CPU of the machine has been busy (all processes), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="criteo", choices=["criteo", "adult", "paper"])
    ap.add_argument("--modes", nargs="+", default=["plain", "overlap", "rows"],
                    choices=["plain", "overlap", "rows"])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--max-foreign", type=float, default=0.15,
                    help="keep the rounds in which other processes used fewer cores than this")
    a = ap.parse_args(argv)
    hp = common.hparams(a.config)
    batch = hp["batch"]
    blas = int(os.environ["OPENBLAS_NUM_THREADS"])
    est, batches = wb.model_and_batches(a.config, hp, blas)
    n_batches = len(batches)

    def run(mode, x, y):
        est.step_.overlap = mode == "overlap"
        est.step_.threads = 2 if mode == "rows" else 1
        est.partial_fit(x, y)

    times = {m: {"wall": [], "cpu": [], "main": [], "foreign": []} for m in a.modes}
    k = 0
    load0 = os.getloadavg()[0]
    for r in range(a.rounds):
        order = a.modes if r % 2 == 0 else a.modes[::-1]
        for mode in order:
            run(mode, *batches[k % n_batches])
            k += 1
            t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
            b0 = machine_busy_seconds()
            for _ in range(a.steps):
                run(mode, *batches[k % n_batches])
                k += 1
            # other processes' CPU during the round, in cores (jiffies: ~10 ms resolution)
            times[mode]["foreign"].append((machine_busy_seconds() - b0
                                           - (time.process_time() - c0))
                                          / (time.perf_counter() - t0))
            times[mode]["wall"].append((time.perf_counter() - t0) / a.steps * 1e3)
            times[mode]["cpu"].append((time.process_time() - c0) / a.steps * 1e3)
            times[mode]["main"].append((time.thread_time() - m0) / a.steps * 1e3)
    load = os.getloadavg()[0]
    print(f"config={a.config} batch={batch} BLAS threads={blas} rounds={a.rounds} "
          f"steps/round={a.steps} load(1 min) before/after={load0:.2f}/{load:.2f} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', '(unset)')}")
    foreign = np.max([times[m]["foreign"] for m in a.modes], axis=0)   # per round
    clean = foreign < a.max_foreign
    print(f"rounds with other processes' CPU < {a.max_foreign} cores (kept): "
          f"{int(clean.sum())} of {a.rounds}; per round: "
          + " ".join(f"{x:.2f}" for x in foreign))
    if not clean.any():
        clean[:] = True
        print("no clean round: every round reported")
    base = np.array(times[a.modes[0]]["wall"])[clean]
    for mode in a.modes:
        w = np.array(times[mode]["wall"])[clean]
        print(f"{mode:>8}: wall {np.median(w):7.2f} ms/step ({batch / np.median(w) * 1e3:,.0f} "
              f"ex/s) [min {w.min():.2f}], CPU {np.median(np.array(times[mode]['cpu'])[clean]):7.2f}, "
              f"calling thread {np.median(np.array(times[mode]['main'])[clean]):7.2f}; per-round "
              f"{a.modes[0]}/{mode} median {np.median(base / w):.3f}")


if __name__ == "__main__":
    main()

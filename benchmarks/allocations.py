"""Memory traffic of a steady-state train step and predict call (issue 12, item 1).

    OPENBLAS_NUM_THREADS=1 python benchmarks/allocations.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/allocations.py --config adult --steps 50

For each config (Criteo-like b1024, Adult b256 of the shared benchmark, the same model as
`widedeep_bench.py`: dropout 0.2 and embedding L2 by default), after ``--warmup`` steps,
per step / per call (median; the same batch every step, the model still trains):

- **peak temporary bytes**: tracemalloc's peak of traced memory during the call minus the
  traced memory at its start: the most temporary memory the call holds at once (NumPy
  reports its array buffers to tracemalloc);
- **retained bytes**: traced memory after the call minus before (~0: nothing leaks);
- **minor page faults** (``getrusage``), measured without tracemalloc, twice: in this
  process (glibc's default allocator, whose adaptive mmap threshold recycles freed large
  blocks, so even an allocating step faults little) and in a child process run with
  ``MALLOC_TRIM_THRESHOLD_=65536`` (Dask's setting, which returns freed memory to the
  kernel: every large temporary is then fresh memory whose pages fault on first touch).

Counts are load-independent, so this runs on a busy machine. Run it on an older checkout
(``PYTHONPATH=<checkout>``) for the "before" numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"])

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import widedeep_bench as wb  # noqa: E402  (puts the repo and ../shared/bench on sys.path)
import common  # noqa: E402

LARGE = 64 * 1024


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _traced_call(fn):
    """(peak above start, retained) bytes of one call, with tracemalloc running."""
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    fn()
    end, peak = tracemalloc.get_traced_memory()
    return peak - start, end - start


def _faults_per_call(fn, calls):
    before = _minor_faults()
    for _ in range(calls):
        fn()
    return (_minor_faults() - before) / calls


def _trimmed_faults(configs, steps, warmup, n_threads=None):
    """Faults per call in a child process with ``MALLOC_TRIM_THRESHOLD_=65536``."""
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")
    threads = [] if n_threads is None else ["--n-threads", str(n_threads)]
    out = subprocess.run([sys.executable, __file__, "--faults-only", "--steps", str(steps),
                          "--warmup", str(warmup), "--config", *configs, *threads],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _large_sites(fn, top):
    """Sites (file:line) of array buffers >= 64 KiB alive at the end of the compute phase
    of one call (the moment the step holds its activations and gradients)."""
    tracemalloc.start(1)
    snapshots = []
    fn(lambda: snapshots.append(tracemalloc.take_snapshot()))
    tracemalloc.stop()
    if not snapshots:
        return []
    stats = [s for s in snapshots[0].statistics("traceback") if s.size >= LARGE]
    return [(str(s.traceback[0]), s.size, s.count) for s in stats[:top]]


def measure(config, batch, steps, warmup, sites, faults_only=False, n_threads=None):
    hp = common.hparams(config)
    hp["batch"] = batch
    ds = common.load(config)
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    est, wide = wb.build_estimator(ds.schema, hp, 0, sample)
    est.set_params(n_threads=n_threads)   # >= 2: the step's row threads too
    b = ds.train.batch(0, batch)
    x = wb.batch_features(b, ds.schema, wide)
    y = b.label

    def train():
        est.partial_fit(x, y)

    def predict():
        est.predict_proba(x)

    for _ in range(warmup):
        train()
        predict()
    out = {}
    for name, fn in (("train step", train), ("predict call", predict)):
        if faults_only:
            out[name] = _faults_per_call(fn, steps)
            continue
        tracemalloc.start()
        traced = [_traced_call(fn) for _ in range(steps)]
        tracemalloc.stop()
        peaks = [t[0] for t in traced]
        retained = [t[1] for t in traced]
        out[name] = dict(peak=float(np.median(peaks)), retained=float(np.median(retained)),
                         faults=_faults_per_call(fn, steps))
    if sites:
        step = est.step_

        def compute_only(mark):
            yy, sw = est._check_batch(x, y, None)
            gradient = step.compute(x, yy, sw, rng=est._dropout_rng)
            mark()
            del gradient
        out["sites"] = _large_sites(compute_only, sites)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", nargs="*", default=["criteo", "adult"],
                    choices=["criteo", "adult", "paper"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--sites", type=int, default=0,
                    help="list the top-N allocation sites of buffers >= 64 KiB held after "
                         "the compute phase")
    ap.add_argument("--n-threads", type=int, default=None,
                    help="the estimator's n_threads (BLAS threads and, from 2, the step's "
                         "row threads; default: the library's)")
    ap.add_argument("--faults-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    batches = {"criteo": 1024, "adult": 256, "paper": 256}
    if a.faults_only:
        print(json.dumps({c: measure(c, batches[c], a.steps, a.warmup, 0, True,
                                     a.n_threads) for c in a.config}))
        return None
    trimmed = _trimmed_faults(a.config, a.steps, a.warmup, a.n_threads)
    print(f"threads={os.environ.get('OPENBLAS_NUM_THREADS')} n_threads={a.n_threads} "
          f"steps={a.steps} "
          f"warmup={a.warmup} (same batch every step)\n")
    print("| config | call | peak temporary bytes | retained bytes | minor faults | "
          "minor faults, MALLOC_TRIM_THRESHOLD_=65536 |")
    print("|---|---|---|---|---|---|")
    results = {}
    for config in a.config:
        r = measure(config, batches[config], a.steps, a.warmup, a.sites,
                    n_threads=a.n_threads)
        results[config] = r
        for name in ("train step", "predict call"):
            m = r[name]
            print(f"| {config} b{batches[config]} | {name} | {m['peak']:,.0f} | "
                  f"{m['retained']:,.0f} | {m['faults']:.1f} | "
                  f"{trimmed[config][name]:.1f} |")
    for config, r in results.items():
        if r.get("sites"):
            print(f"\n{config}: buffers >= 64 KiB alive after compute (site, bytes, count)")
            for site, size, count in r["sites"]:
                print(f"  {site}  {size:,}  x{count}")
    return results


if __name__ == "__main__":
    main()

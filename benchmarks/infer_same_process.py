"""Inference by the shared protocol, widedeep and the PyTorch peers interleaved in one
process (issue 12, item 4: inference >= 1.0x the best torch layout on every config).

    WD_BENCH_DATA=/tmp/wdbench_data OPENBLAS_NUM_THREADS=2 \\
        python benchmarks/infer_same_process.py --config adult --threads 2 --rounds 7

Each implementation is built by its own benchmark adapter (`widedeep_bench.WidedeepAdapter`,
``../shared/bench/torch_wd.TorchAdapter`` with the per-field and the fused embedding
layout), trained for ``--train`` batches of the config's training batch, then scored by the
shared protocol's loop (``common.bench_infer``'s: ``split.batch`` + ``prepare`` +
``predict`` per batch of the config's inference batch; wall time, or with one thread the
process's CPU time, which a loaded machine disturbs much less: ``--clock``) over the first
``--batches`` batches of the test split (all of them by default), ``--passes`` passes per
turn. The turns rotate A, B, C / B, C, A / ... for ``--rounds`` rounds; each line is the
median examples per second over the rounds, and the ratio widedeep / peer is the median of
the per-round ratios (the same round, so a change of load between rounds cancels).

BLAS threads are fixed at import (``OPENBLAS_NUM_THREADS``, default ``--threads``) and
torch's pool by ``torch.set_num_threads(--threads)``. The separate-process shared runner
(``benchmarks/run.py``) remains the reference; this script measures a change quickly.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    _threads = "2"
    for _i, _arg in enumerate(sys.argv):
        if _arg == "--threads" and _i + 1 < len(sys.argv):
            _threads = sys.argv[_i + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import widedeep_bench as wb  # noqa: E402  (puts the repo and ../shared/bench on sys.path)
import common  # noqa: E402


def adapters(config, threads, impls):
    """``{name: adapter}`` for the implementations asked for (torch ones only when torch
    imports); every adapter reads the same loaded dataset."""
    common.load = functools.lru_cache(maxsize=None)(common.load)   # one copy of the data
    argv = ["--config", config, "--threads", str(threads)]
    out = {}
    for name in impls:
        if name == "widedeep":
            a = common.add_cli_args(argparse.ArgumentParser()).parse_args(argv)
            out[name] = wb.WidedeepAdapter(a)
            continue
        try:
            import torch_wd
        except ImportError:
            continue
        ap = common.add_cli_args(argparse.ArgumentParser())
        ap.add_argument("--emb-layout", default="per_field")
        ap.add_argument("--wide-opt", default="ftrl")
        layout = "fused" if name == "torch_fused" else "per_field"
        out[name] = torch_wd.TorchAdapter(ap.parse_args(argv + ["--emb-layout", layout]))
    return out


def infer_pass(ad, split, batch, max_batches, clock):
    """Examples per second of one pass of the shared protocol's inference loop
    (``common.bench_infer``'s: ``split.batch``, ``prepare``, ``predict`` per batch), timed
    by ``clock``."""
    n_batches = -(-split.n // batch)
    if max_batches:
        n_batches = min(n_batches, max_batches)
    n = 0
    t0 = clock()
    for i in range(n_batches):
        b = split.batch(i * batch, (i + 1) * batch)
        ad.predict(ad.prepare(b))
        n += b.size
    return n / (clock() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="adult", choices=["criteo", "adult", "paper"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--passes", type=int, default=1, help="passes per turn")
    ap.add_argument("--batches", type=int, default=None, help="test batches per pass")
    ap.add_argument("--train", type=int, default=20, help="train batches before scoring")
    ap.add_argument("--impls", default="widedeep,torch,torch_fused")
    ap.add_argument("--clock", choices=["wall", "cpu"], default=None,
                    help="default: cpu (process time) with 1 thread, wall otherwise")
    a = ap.parse_args(argv)
    a.clock = a.clock or ("cpu" if a.threads == 1 else "wall")
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    hp = common.hparams(a.config)
    impls = adapters(a.config, a.threads, a.impls.split(","))
    ds = common.load(a.config)
    for ad in impls.values():
        for k in range(a.train):
            ad.train_step(ad.prepare(ds.train.batch(k * hp["batch"], (k + 1) * hp["batch"])))
    batch = int(hp["infer_batch"])
    names = list(impls)
    rates = {name: [] for name in names}
    loads = [os.getloadavg()[0]]
    for r in range(a.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            for k in range(2):   # untimed, as the protocol's warm-up batches
                impls[name].predict(impls[name].prepare(ds.test.batch(k * batch,
                                                                      (k + 1) * batch)))
            rates[name].append(float(np.median([
                infer_pass(impls[name], ds.test, batch, a.batches, clock)
                for _ in range(a.passes)])))
        loads.append(os.getloadavg()[0])
    print(f"config={a.config} infer batch={batch} threads={a.threads} rounds={a.rounds} "
          f"passes={a.passes} batches={a.batches or 'all'} clock={a.clock} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"openblas={wb.openblas_corename()} load(1 min) {min(loads):.2f}-{max(loads):.2f}")
    print("\n| implementation | infer ex/s (median) | ms per batch | widedeep / it (same round) |")
    print("|---|---|---|---|")
    ours = np.array(rates.get("widedeep", [np.nan] * a.rounds))
    for name in names:
        mine = np.array(rates[name])
        ratio = float(np.median(ours / mine))
        print(f"| {name} | {np.median(mine):,.0f} | {batch / np.median(mine) * 1e3:.3f} | "
              f"{ratio:.2f}x |")


if __name__ == "__main__":
    main()

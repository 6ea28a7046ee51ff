"""Where a widedeep train step spends its time, on the shared benchmark's data.

    OPENBLAS_NUM_THREADS=2 python benchmarks/profile_step.py --config criteo
    python benchmarks/profile_step.py --config adult --steps 300 --cprofile 25

Two views of the same steps (warm-up excluded):

1. a phase breakdown: the real phases of the step, called one by one on the estimator's
   own `TrainingStep` (``est.step_``) in its workspace, with its row threads
   (`widedeep.row_threads`): batch validation, deep forward, wide forward + loss
   gradient, the dense backward, the embedding rows' backward, regularizers, the FTRL,
   row-AdaGrad and dense-AdaGrad preparations and the checked write -- median ms per
   step (a model with a wide and a deep part; Wide & Deep as the shared benchmark's);
2. cProfile of `partial_fit` itself (top functions by total/internal time), which shows
   the layers and optimizers inside each phase.

The estimator trains with ``n_threads = OPENBLAS_NUM_THREADS`` (BLAS threads, and the
row threads unless ``--row-threads`` says otherwise). On a shared, loaded machine
wall-clock medians mostly measure the other processes; with ``OPENBLAS_NUM_THREADS=1``
the default clock is the process CPU time (``--clock cpu``), which counts only this
process's own work (with 2 BLAS threads it would add both threads' time, so the default
there is wall time); ``--clock thread`` is the calling thread's own CPU time (what
stays on the critical path when the other work goes to a helper).

The phases are the library's own calls (nothing is replayed), so the "sum of phases" line
matches the "partial_fit" line up to the step counter and timer overhead.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
    os.environ.setdefault("OMP_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"])

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import widedeep_bench as wb  # noqa: E402  (puts the repo and ../shared/bench on sys.path)
import common  # noqa: E402
from widedeep.threads import limit_blas_threads  # noqa: E402
from widedeep.training.step import _joined_proba_fn  # noqa: E402


CLOCK = time.perf_counter


class Phases:
    def __init__(self):
        self.times = defaultdict(list)
        self.current = {}

    def __call__(self, name):
        return _Phase(self, name)

    def end_step(self):
        for k, v in self.current.items():
            self.times[k].append(v)
        self.current = {}


class _Phase:
    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __enter__(self):
        self.t0 = CLOCK()

    def __exit__(self, *exc):
        cur = self.owner.current
        cur[self.name] = cur.get(self.name, 0.0) + CLOCK() - self.t0


def timed_step(est, features, y, ph):
    """One `partial_fit` step, its real phases timed one by one: the library calls
    `TrainingStep.train_batch` makes (compute = deep forward, wide forward + loss
    gradient, dense backward, embedding backward; then regularizers, the three
    optimizer preparations and the checked write), in the step's own workspace with its
    row threads, as the overlapped step (`widedeep.training.overlap`) calls them."""
    with ph("validate batch (_check_batch)"):
        y, sw = est._check_batch(features, y, None)
    step = est.step_
    deep = step.deep
    workspace = step.workspace(y.shape[0])
    with ph("deep forward (embedding gather, 4 dense layers, ReLU)"):
        deep_logits, cache = deep.forward(features, training=True, rng=est._dropout_rng,
                                          workspace=workspace, checked=True)
    with ph("wide forward + loss gradient + wide coordinate sums"):
        coords, values, bias, p, g = step.wide.compute_gradients(
            features, y, _joined_proba_fn(step.loss.link, deep_logits), sw, step.loss,
            y.shape[0], workspace)
    with ph("deep backward, dense layers (8 GEMMs, ReLU masks, bias sums)"):
        dense, grad_input = deep.backward_dense(g.astype(step.dtype, copy=False), cache,
                                                workspace)
    with ph("deep backward, embedding rows (sort + segment sums)"):
        blocks = deep.backward_embedding_blocks(grad_input, cache, workspace)
    with ph("regularizers (combine)"):
        dense = deep.add_dense_penalty(dense)
        blocks = deep.add_embedding_penalty(blocks, workspace)
    with ph("prepare FTRL (wide coordinates)"):
        wide_part = step.prepare_wide((coords, values, bias), workspace)
    with ph("prepare AdaGrad rows (embeddings)"):
        embedding_part = step.prepare_embeddings(blocks, workspace)
    with ph("prepare AdaGrad dense"):
        dense_part = step.prepare_dense(dense, workspace)
    with ph("finiteness check + write (commit)"):
        step.commit([wide_part, embedding_part, dense_part], deep.batch_statistics(cache),
                    workspace.threads)
    est.steps_trained_ += 1
    ph.end_step()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="criteo", choices=["criteo", "adult", "paper"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--cprofile", type=int, default=30, help="top-N cProfile rows (0: skip)")
    ap.add_argument("--row-threads", type=int, help="step_.threads (default: the library's, "
                    "which follows n_threads = OPENBLAS_NUM_THREADS)")
    ap.add_argument("--clock", choices=["wall", "cpu", "thread"],
                    default="cpu" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else "wall")
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = {"cpu": time.process_time, "thread": time.thread_time,
             "wall": time.perf_counter}[a.clock]
    hp = common.hparams(a.config)
    if a.batch:
        hp["batch"] = a.batch
    batch = hp["batch"]
    ds = common.load(a.config)
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    est, wide = wb.build_estimator(ds.schema, hp, 0, sample)
    # train on the BLAS threads the process was started with (the estimator's default
    # n_threads would limit partial_fit to one)
    est.set_params(n_threads=int(os.environ["OPENBLAS_NUM_THREADS"]))
    nb = ds.train.n // batch

    def raw(k):
        return ds.train.batch((k % nb) * batch, (k % nb + 1) * batch)

    prep = []
    for k in range(a.warmup + a.steps):
        t0 = CLOCK()
        b = raw(k)
        x = wb.batch_features(b, ds.schema, wide)
        prep.append(CLOCK() - t0)
        if k < a.warmup:
            est.partial_fit(x, b.label)
            if a.row_threads is not None:
                est.step_.threads = a.row_threads
    prep = prep[a.warmup:]

    # 1) whole partial_fit
    whole = []
    for k in range(a.warmup, a.warmup + a.steps):
        b = raw(k)
        x = wb.batch_features(b, ds.schema, wide)
        t0 = CLOCK()
        est.partial_fit(x, b.label)
        whole.append(CLOCK() - t0)
    # 2) the real phases, timed one by one, on the following batches
    ph = Phases()
    with limit_blas_threads(est.n_threads):    # as partial_fit does
        for k in range(a.warmup + a.steps, a.warmup + 2 * a.steps):
            b = raw(k)
            timed_step(est, wb.batch_features(b, ds.schema, wide), b.label, ph)
    med = {k: float(np.median(v)) * 1e3 for k, v in ph.times.items()}
    total = sum(med.values())
    step_ms = float(np.median(whole)) * 1e3
    prep_ms = float(np.median(prep)) * 1e3
    print(f"config={a.config} batch={batch} steps={a.steps} "
          f"threads={os.environ.get('OPENBLAS_NUM_THREADS')} "
          f"row threads={est.step_.threads if est.step_.threads is not None else 'default'} "
          f"clock={a.clock} load(1 min)={os.getloadavg()[0]:.2f} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}")
    print(f"prepare (numpy batch -> feature dict): {prep_ms:7.2f} ms")
    print(f"partial_fit (median):                  {step_ms:7.2f} ms  "
          f"-> {batch / (step_ms + prep_ms) * 1e3:,.0f} ex/s incl. prepare")
    print(f"sum of phase medians:                  {total:7.2f} ms\n")
    print("| phase | ms / step | share |\n|---|---|---|")
    for k, v in sorted(med.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {v:.2f} | {100 * v / total:.1f}% |")

    if a.cprofile:
        pr = cProfile.Profile(CLOCK)
        for k in range(a.warmup + 2 * a.steps, a.warmup + 3 * a.steps):
            b = raw(k)
            x = wb.batch_features(b, ds.schema, wide)
            pr.enable()
            est.partial_fit(x, b.label)
            pr.disable()
        for key in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(pr, stream=s).sort_stats(key).print_stats(a.cprofile)
            text = s.getvalue()
            start = text.find("   ncalls")
            print(f"\ncProfile of partial_fit over {a.steps} steps, sorted by {key}:\n")
            print(text[start:].rstrip())


if __name__ == "__main__":
    main()

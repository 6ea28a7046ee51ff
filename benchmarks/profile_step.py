"""Where a widedeep train step spends its time, on the shared benchmark's data.

    OPENBLAS_NUM_THREADS=2 python benchmarks/profile_step.py --config criteo
    python benchmarks/profile_step.py --config adult --steps 300 --cprofile 25

Two views of the same steps (warm-up excluded):

1. a phase breakdown: the step of `WideDeepEstimator._train_batch` replayed phase by phase
   with the library's own objects (input checks, each embedding field's pooling, each dense
   layer forward/backward, the wide forward, the wide FTRL update per field, the embedding
   gradient aggregation, AdaGrad dense and row-sparse updates) -- median ms per step;
2. cProfile of `partial_fit` itself (top functions by total/internal time).

On a shared, loaded machine wall-clock medians mostly measure the other processes; with
``OPENBLAS_NUM_THREADS=1`` the default clock is the process CPU time (``--clock cpu``),
which counts only this process's own work (with 2 BLAS threads it would add both threads'
time, so the default there is wall time).

The replay mirrors `estimators/wide_deep.py`, `layers/deep_network.py` and
`estimators/base.py::_update_deep`; if those change, check that the "sum of phases" still
matches the "partial_fit" line.
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
from widedeep.layers.base import RowSparseGrad  # noqa: E402
from widedeep.losses import sigmoid  # noqa: E402


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


def replay_step(est, features, y, ph):
    """`WideDeepEstimator.partial_fit` (batch mode, no dropout, no sample weights) phase by
    phase, with the estimator's own layers and optimizers."""
    with ph("check: input validation (_check_batch)"):
        y, sw = est._check_batch(features, y, None)
    deep = est.deep_
    emb = deep.embeddings
    with ph("deep fwd: embedding pooling (all fields)"):
        outs, ecache = [], {}
        for field, layer in emb.fields.items():
            out, ecache[field] = layer.forward(features[field])
            outs.append(out)
        e = np.concatenate(outs, axis=1)
    with ph("deep fwd: dense input + concat"):
        dense, _ = deep.dense_input.forward(features)
        a = np.concatenate([dense, e], axis=1)
    caches = []
    for i, layer in enumerate(deep.layers):
        with ph(f"deep fwd: layer{i} {type(layer).__name__}"):
            a, c = layer.forward(a, training=True, rng=est._dropout_rng)
        caches.append(c)
    deep_logits = a[:, 0]
    wide = est.wide_
    n = y.shape[0]
    with ph("wide: forward (gather + bincount per field)"):
        logits, wcache = wide.forward(features)
    with ph("wide: loss gradient"):
        p = np.asarray(sigmoid(logits + deep_logits[np.arange(n)]), dtype=wide.dtype)
        g = (p - y) / max(n, 1)
    with ph("wide: entry gradients"):
        eg = wide.entry_gradients(g, wcache)
    with ph("wide: FTRL update (unique + bincount + step, per field)"):
        wide.apply_gradients(eg, g.sum())
    gl = ((p - y) / n).astype(est._dtype)
    grads = {}
    gcur = gl[:, None]
    for i in range(len(deep.layers) - 1, -1, -1):
        with ph(f"deep bwd: layer{i} {type(deep.layers[i]).__name__}"):
            gcur, lg = deep.layers[i].backward(gcur, caches[i])
        for name, value in lg.items():
            grads[f"layer{i}/{name}"] = value
    with ph("deep bwd: embedding entry gradients (all fields)"):
        g_emb = np.ascontiguousarray(gcur[:, deep.dense_input.output_dim:])
        per_vocab, start = {}, 0
        for field, layer in emb.fields.items():
            stop = start + layer.output_dim
            per_vocab.setdefault(emb.field_vocabs[field], []).append(
                layer.entry_gradients(g_emb[:, start:stop], ecache[field]))
            start = stop
    with ph("deep bwd: sum_rows_by_id (np.unique + sparse sum, per table)"):
        from widedeep.layers.base import sum_rows_by_id
        for vocab, parts in per_vocab.items():
            if len(parts) == 1:
                grads[f"embedding/{vocab}"] = sum_rows_by_id(*parts[0])
            else:
                grads[f"embedding/{vocab}"] = sum_rows_by_id(
                    np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts]))
    params = deep.params
    for name, grad in grads.items():
        state = est.deep_optimizer_state_[name]
        if isinstance(grad, RowSparseGrad):
            with ph("adagrad: row-sparse (embedding tables)"):
                est._adagrad.update_rows(params[name], grad.rows, grad.values, state,
                                         assume_unique=True)
        else:
            with ph("adagrad: dense (MLP weights)"):
                est._adagrad.update(params[name], grad, state)
    est.steps_trained_ += 1
    ph.end_step()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="criteo", choices=["criteo", "adult", "paper"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--cprofile", type=int, default=30, help="top-N cProfile rows (0: skip)")
    ap.add_argument("--clock", choices=["wall", "cpu"],
                    default="cpu" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else "wall")
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    hp = common.hparams(a.config)
    if a.batch:
        hp["batch"] = a.batch
    batch = hp["batch"]
    ds = common.load(a.config)
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    est, wide = wb.build_estimator(ds.schema, hp, 0, sample)
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
    prep = prep[a.warmup:]

    # 1) whole partial_fit
    whole = []
    for k in range(a.warmup, a.warmup + a.steps):
        b = raw(k)
        x = wb.batch_features(b, ds.schema, wide)
        t0 = CLOCK()
        est.partial_fit(x, b.label)
        whole.append(CLOCK() - t0)
    # 2) phase replay on the following batches
    ph = Phases()
    for k in range(a.warmup + a.steps, a.warmup + 2 * a.steps):
        b = raw(k)
        replay_step(est, wb.batch_features(b, ds.schema, wide), b.label, ph)
    med = {k: float(np.median(v)) * 1e3 for k, v in ph.times.items()}
    total = sum(med.values())
    step_ms = float(np.median(whole)) * 1e3
    prep_ms = float(np.median(prep)) * 1e3
    print(f"config={a.config} batch={batch} steps={a.steps} "
          f"threads={os.environ.get('OPENBLAS_NUM_THREADS')} clock={a.clock} "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}")
    print(f"prepare (numpy batch -> feature dict): {prep_ms:7.2f} ms")
    print(f"partial_fit (median):                  {step_ms:7.2f} ms  "
          f"-> {batch / (step_ms + prep_ms) * 1e3:,.0f} ex/s incl. prepare")
    print(f"sum of phase medians (replay):         {total:7.2f} ms\n")
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

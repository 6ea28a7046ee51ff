"""Where a predict call's time goes (issue 12, item 4), on the shared benchmark's data.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_predict.py --config adult
    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_predict.py --config criteo --batch 1024

The model is the benchmark's (`widedeep_bench.build_estimator`), trained for ``--train``
steps, then one batch of ``--batch`` test rows is scored ``--calls`` times:

1. ``predict_proba`` whole (median per call, and examples per second);
2. its real parts, called one by one on the estimator's own objects: the field checks
   (``_check_model_input``: fields present, of the right kind and size), the wide forward
   and the deep forward (each with the value checks of its fields, fused with its gather
   since issue 12; on older checkouts: the whole validation, then both forwards), the
   link; the deep forward is split once more into its embedding lookup, dense input and
   dense layers (the layers' own calls, nothing replayed);
   and, for reference, a bare NumPy replay of the same arithmetic (`bare_numpy`: gathers,
   products, sigmoid, no checks and no layer calls): predict_proba minus it is the fixed
   cost;
   and the benchmark's ``prepare`` (arrays -> feature dict), which the shared protocol
   times next to each prediction;
3. cProfile of ``predict_proba`` (top functions by internal time): the per-call and
   per-field Python work next to the arithmetic, and the number of function calls one
   prediction makes (Python functions and NumPy/builtin calls; a count the machine's load
   does not change).

With ``OPENBLAS_NUM_THREADS=1`` the clock is the process CPU time (``--clock cpu``), which
a busy machine disturbs much less than wall time. Run it on an older checkout
(``PYTHONPATH=<checkout>``) for the "before" profile.
"""
from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import os
import pstats
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"])

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import widedeep_bench as wb  # noqa: E402  (puts the repo and ../shared/bench on sys.path)
import common  # noqa: E402


def timed(clock, fn, calls):
    """Median seconds of ``calls`` calls of ``fn``."""
    samples = []
    for _ in range(calls):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return float(np.median(samples))


def bare_numpy(est, x):
    """The arithmetic of one prediction written inline with the model's own arrays, for a
    model whose sparse fields are all one-hot and whose embeddings share one block (Adult):
    one wide gather and sum, one embedding gather, the dense layers' products, bias and
    ReLU, the sigmoid; no checks, no layer calls. What predict_proba would cost with no
    fixed costs (None for other models)."""
    wide, deep = est.wide_, est.deep_
    emb = deep.embeddings
    fields = list(emb.fields)
    if len(emb.groups) != 1 or emb.groups[0].table is None or \
            not all(x[f].one_per_example for f in [*wide.field_sizes, *fields]):
        return None
    block = emb.groups[0].table
    ids = np.stack([x[f].feature_ids + emb.groups[0].offsets[emb.field_vocabs[f]]
                    for f in fields], axis=1)
    coords = np.stack([x[f].feature_ids + wide.offsets[f] for f in wide.field_sizes])
    dense = np.concatenate([np.asarray(x[f], dtype=block.dtype).reshape(len(ids), -1)
                            for f in deep.dense_input.field_widths], axis=1)
    weights = [(layer.params["W"], layer.params.get("b")) for layer in deep.layers
               if "W" in getattr(layer, "params", {})]
    a0 = np.empty((len(ids), weights[0][0].shape[0]), dtype=block.dtype)
    width = dense.shape[1]

    def run():
        a0[:, :width] = dense
        a0[:, width:] = block.take(ids, axis=0).reshape(len(ids), -1)
        h = a0
        for k, (W, b) in enumerate(weights):
            h = h @ W
            if b is not None:
                h += b
            if k < len(weights) - 1:
                np.maximum(h, 0, out=h)
        z = h[:, 0] + (wide._weights.take(coords).sum(axis=0) + wide.params["bias"][0])
        return 1.0 / (1.0 + np.exp(-z))
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="adult", choices=["criteo", "adult", "paper"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--train", type=int, default=20, help="train steps before scoring")
    ap.add_argument("--cprofile", type=int, default=25)
    ap.add_argument("--clock", choices=["wall", "cpu"],
                    default="cpu" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else "wall")
    a = ap.parse_args(argv)
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    hp = common.hparams(a.config)
    ds = common.load(a.config)
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    est, wide = wb.build_estimator(ds.schema, hp, 0, sample)
    # the BLAS threads the process was started with (as the benchmark adapter sets them)
    est.set_params(n_threads=int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    for k in range(a.train):
        b = ds.train.batch(k * hp["batch"], (k + 1) * hp["batch"])
        est.partial_fit(wb.batch_features(b, ds.schema, wide), b.label)
    b = ds.test.batch(0, a.batch)
    x = wb.batch_features(b, ds.schema, wide)
    n = b.size
    for _ in range(5):
        est.predict_proba(x)

    whole = timed(clock, lambda: est.predict_proba(x), a.calls)
    kw, fused = {}, "values" in inspect.signature(est._check_model_input).parameters
    if "workspace" in inspect.signature(est.wide_.forward).parameters:
        from widedeep.workspace import thread_workspace   # as predict_proba calls them
        kw = {"workspace": thread_workspace()}
    if fused:   # issue 12: the value checks run inside each part's gather
        parts = {
            "field checks (_check_model_input, values=False)":
                lambda: est._check_model_input(x, n, values=False),
            "wide forward, with its value checks": lambda: est.wide_.forward(x, validate=True,
                                                                             **kw),
            "deep forward, with its value checks": lambda: est.deep_.forward(x, **kw),
        }
    else:
        parts = {
            "input validation (_check_model_input)": lambda: est._check_model_input(x, n),
            "wide forward": lambda: est.wide_.forward(x, **kw),
            "deep forward": lambda: est.deep_.forward(x, **kw),
        }
    logits = est.predict_logit(x)
    parts["link (sigmoid)"] = lambda: est.loss_.link(logits)
    deep = est.deep_
    # as predict runs it: no backward cache (single-valued fields beside bags: one gather)
    lookup = {"need_cache": False} if "need_cache" in inspect.signature(
        deep.embeddings.forward).parameters else {}
    inner = {
        "  embedding lookup (with value checks)": lambda: deep.embeddings.forward(x, **lookup),
        "  dense input": lambda: deep.dense_input.forward(x),
    }
    emb = deep.embeddings.forward(x)[0]
    dense = deep.dense_input.forward(x)[0]
    a0 = np.concatenate([dense, emb], axis=1) if dense is not None else emb

    def layers():
        h = a0
        for layer in deep.layers:
            h = layer.forward(h)[0]
    inner["  dense layers"] = layers
    floor = bare_numpy(est, x)
    if floor is not None:
        inner["bare NumPy: the same gathers and products inline (no checks, no layers)"] = floor
    # the benchmark protocol times the conversion of its arrays into the feature dict too
    inner["the benchmark's prepare (widedeep_bench.batch_features, not in predict_proba)"] = \
        lambda: wb.batch_features(b, ds.schema, wide)
    measured = {name: timed(clock, fn, a.calls) for name, fn in {**parts, **inner}.items()}

    print(f"config={a.config} batch={n} calls={a.calls} "
          f"threads={os.environ.get('OPENBLAS_NUM_THREADS')} clock={a.clock} "
          f"load(1 min)={os.getloadavg()[0]:.2f}")
    print(f"predict_proba: {whole * 1e3:.3f} ms per call -> {n / whole:,.0f} ex/s\n")
    print("| part (called alone) | ms per call | share of predict_proba |\n|---|---|---|")
    for name, seconds in measured.items():
        print(f"| {name} | {seconds * 1e3:.3f} | {100 * seconds / whole:.0f}% |")
    if a.cprofile:
        profile = cProfile.Profile(clock)
        profile.enable()
        for _ in range(a.calls):
            est.predict_proba(x)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(a.cprofile)
        text = out.getvalue()
        # load-independent: how many Python-level and C-level calls one prediction makes
        print(f"\nfunction calls per predict_proba call (cProfile, load-independent): "
              f"{stats.total_calls / a.calls:.0f}")
        print(f"\ncProfile of {a.calls} predict_proba calls, by internal time:\n")
        print(text[text.find("   ncalls"):].rstrip())


if __name__ == "__main__":
    main()

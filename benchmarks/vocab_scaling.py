"""Train-step time versus vocabulary size: sparse updates must not scale with the table.

The same Wide & Deep model and the same batches of 1024 examples, with every embedding table
and every wide field sized 10^3 ... 10^7 rows. Only the table size changes: each batch draws
Zipf ranks from a fixed pool of 1000 distinct ids, and the pool is spread over the table at
random positions (so the number of distinct rows a step touches is identical for every
size, while memory locality is that of a real large table). Issue 2's target: the step at
10^7 rows within 1.2x of the step at 10^3.

All sizes' models are built first, then the timed windows run round-robin over the sizes
(a noisy machine slows all sizes alike); reported: the median step time over the windows,
after untimed warm-up steps. With ``OPENBLAS_NUM_THREADS=1`` the clock is the process CPU
time (``--clock``).

    OPENBLAS_NUM_THREADS=2 python benchmarks/vocab_scaling.py               # 1e3..1e7
    python benchmarks/vocab_scaling.py --sizes 1000 100000 --windows 3      # quicker

Memory at 10^7: 2 tables x 10^7 x 16 float32 (+ AdaGrad accumulators) = 2.6 GB, plus the
wide fields' weights, z and n (0.24 GB).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
    os.environ.setdefault("OMP_NUM_THREADS", os.environ["OPENBLAS_NUM_THREADS"])

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from widedeep import Adagrad, FtrlProximal, SparseInput, WideDeepEstimator  # noqa: E402

CLOCK = time.perf_counter

POOL = 1000          # distinct ids a batch can draw, per field
BAG = 8              # ids per example of the multi-valued fields
DIM = 16
DENSE = 8


def make_model(n_rows, seed=0):
    """2 vocabularies of ``n_rows`` (each read by a single-valued field and a bag of 8),
    dense 8, hidden (256, 128); 2 wide fields of ``n_rows`` (one-hot, bag of 4)."""
    return WideDeepEstimator(
        {"wide_onehot": n_rows, "wide_cross": n_rows},
        vocabularies={"items": (n_rows, DIM), "users": (n_rows, DIM)},
        embedding_fields={"item": "items", "item_history": "items", "user": "users",
                          "user_friends": "users"},
        dense_fields={"dense": DENSE}, hidden_units=(256, 128),
        adagrad=Adagrad(lr=0.01, initial_accumulator_value=0.1, eps=1e-7),
        ftrl=FtrlProximal(alpha=0.05, beta=1.0, l1=0.0, l2=0.0),
        batch_size=1024, early_stopping=False, random_state=seed)


def make_batches(n_rows, batch, n_batches, seed=0):
    """``n_batches`` feature dicts whose Zipf ranks do not depend on ``n_rows``; rank r of a
    field is id ``pool[r]``, 1000 distinct positions drawn at random from ``[0, n_rows)``."""
    rank_rng = np.random.default_rng(seed)            # same ranks for every size
    pos_rng = np.random.default_rng([seed, n_rows])   # where the pool lies in this table
    pools = {f: pos_rng.choice(n_rows, POOL, replace=False)
             for f in ("item", "item_history", "user", "user_friends", "wide_onehot",
                       "wide_cross")}

    def ranks(size):
        return np.minimum(rank_rng.zipf(1.2, size) - 1, POOL - 1)

    batches = []
    for _ in range(n_batches):
        feats = {"dense": rank_rng.standard_normal((batch, DENSE)).astype(np.float32)}
        for f in ("item", "user", "wide_onehot"):
            feats[f] = SparseInput.from_ids(pools[f][ranks(batch)], field=f)
        for f, k in (("item_history", BAG), ("user_friends", BAG), ("wide_cross", 4)):
            feats[f] = SparseInput.from_csr(np.arange(0, batch * k + 1, k),
                                            pools[f][ranks(batch * k)],
                                            rank_rng.uniform(0.1, 1.0, batch * k), field=f)
        labels = (rank_rng.random(batch) < 0.25).astype(np.float32)
        batches.append((feats, labels))
    return batches


def run(sizes, batch=1024, steps=20, windows=5, warmup=10, n_batches=8, seed=0, log=print):
    models, data = {}, {}
    for n_rows in sizes:
        t0 = CLOCK()
        models[n_rows] = make_model(n_rows, seed)
        data[n_rows] = make_batches(n_rows, batch, n_batches, seed)
        for i in range(warmup):
            models[n_rows].partial_fit(*data[n_rows][i % n_batches])
        log(f"  built + warmed up {n_rows:>10,} rows in {CLOCK() - t0:.1f} s")
    per_step = {n: [] for n in sizes}
    counters = {n: warmup for n in sizes}
    for w in range(windows):
        order = sizes if w % 2 == 0 else sizes[::-1]
        for n_rows in order:
            model, batches = models[n_rows], data[n_rows]
            t0 = CLOCK()
            for _ in range(steps):
                model.partial_fit(*batches[counters[n_rows] % n_batches])
                counters[n_rows] += 1
            per_step[n_rows].append((CLOCK() - t0) / steps)
    base = float(np.median(per_step[sizes[0]]))
    rows = []
    for n_rows in sizes:
        med = float(np.median(per_step[n_rows]))
        rows.append(dict(rows=n_rows, step_ms=med * 1e3,
                         step_ms_all=[t * 1e3 for t in per_step[n_rows]],
                         ratio_to_smallest=med / base))
    return dict(batch=batch, steps_per_window=steps, windows=windows, warmup=warmup,
                blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", ""), results=rows)


def markdown(res):
    lines = ["| table / wide rows | train step ms (median) | windows ms | vs smallest |",
             "|---|---|---|---|"]
    for r in res["results"]:
        lines.append(f"| {r['rows']:,} | {r['step_ms']:.2f} | "
                     f"{', '.join(f'{t:.1f}' for t in r['step_ms_all'])} | "
                     f"{r['ratio_to_smallest']:.2f}x |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+",
                    default=[10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=20, help="steps per timed window")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--clock", choices=["wall", "cpu"],
                    default="cpu" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else "wall",
                    help="cpu: process CPU time (default with one BLAS thread; a busy "
                         "machine disturbs it much less than wall time)")
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    sizes = sorted(a.sizes)
    res = run(sizes, a.batch, a.steps, a.windows, a.warmup, seed=a.seed,
              log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(markdown(res))
    print(f"\n{sizes[-1]:,} / {sizes[0]:,} rows: {res['results'][-1]['ratio_to_smallest']:.2f}x "
          f"(target <= 1.2x)")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()

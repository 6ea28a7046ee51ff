"""Save / load time and size of a model with a 10^6-row embedding table (issue 4).

The model: `WideDeepEstimator` with one vocabulary of ``--rows`` rows x ``--dim`` (default
10^6 x 32, float32) feeding one sparse field, one wide field of ``--rows`` coordinates, a
16-wide dense field and ReLU 64-32; fitted on one small batch so every array (incl. AdaGrad
accumulators and FTRL z/n) exists. Also times a warm start that carries every row by token
through a shuffled vocabulary of the same size. Run from the repository root::

    python benchmarks/io_bench.py                    # 10^6 rows, dim 32, 3 repeats
    python benchmarks/io_bench.py --rows 100000 --repeats 1

Timings are wall-clock medians; the page cache is warm (the files were just written), so
load time is CPU/memory bound, not disk bound.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from widedeep import Adagrad, SparseInput, WideDeepEstimator  # noqa: E402
from widedeep.io import load_model, read_manifest, save_model, warm_start  # noqa: E402


def build_model(rows, dim, seed=0):
    model = WideDeepEstimator(
        {"item": rows}, vocabularies={"item": (rows, dim)}, embedding_fields={"item": "item"},
        dense_fields={"dense": 16}, hidden_units=(64, 32), adagrad=Adagrad(lr=0.05),
        batch_size=512, epochs=1, early_stopping=False, random_state=seed)
    rng = np.random.default_rng(seed)
    n = 512
    X = {"item": SparseInput.from_ids(rng.integers(0, rows, n), vocab_size=rows),
         "dense": rng.standard_normal((n, 16)).astype(np.float32)}
    model.fit(X, rng.integers(0, 2, n))
    return model


def directory_bytes(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model = build_model(args.rows, args.dim)
    print(f"model built and fitted in {time.perf_counter() - start:.2f} s")
    state_bytes = sum(a.nbytes for a in model.get_state().values())
    root = Path(args.dir or tempfile.mkdtemp(prefix="wd_io_bench_"))
    path = root / "model"
    try:
        save_s, _ = timed(lambda: save_model(model, path), args.repeats)
        size = directory_bytes(path)
        load_s, loaded = timed(lambda: load_model(path), args.repeats)
        load_fast_s, _ = timed(lambda: load_model(path, verify=False), args.repeats)
        manifest_s, _ = timed(lambda: read_manifest(path), args.repeats)
        assert all(np.array_equal(a, loaded.get_state()[k])
                   for k, a in model.get_state().items())

        tokens = np.array([f"item{k}" for k in range(args.rows)])
        shuffled = np.random.default_rng(1).permutation(tokens)
        new = WideDeepEstimator(**{**model.get_params(), "random_state": 1})
        warm_s, report = timed(lambda: warm_start(new, model, old_tokens={"item": tokens},
                                                  new_tokens={"item": shuffled},
                                                  copy_optimizer_state=True), 1)
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)

    print(f"table {args.rows:,} x {args.dim} float32, wide field {args.rows:,} coordinates; "
          f"{len(model.get_state())} arrays, {state_bytes / 1e6:,.1f} MB in memory")
    print(f"directory size            {size / 1e6:,.1f} MB")
    print(f"save_model                {save_s:.3f} s   ({size / 1e6 / save_s:,.0f} MB/s)")
    print(f"load_model (verify)       {load_s:.3f} s")
    print(f"load_model (verify=False) {load_fast_s:.3f} s")
    print(f"  of which SHA-256 check  {manifest_s:.3f} s (read_manifest)")
    print(f"warm_start by token       {warm_s:.3f} s   "
          f"({report.embeddings['item']['carried']:,} rows carried, with optimizer state)")
    print(f"(median of {args.repeats}; numpy {np.__version__}; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()

"""The GEMM ceiling of a Criteo-like train step (issue 12, item 5).

    OPENBLAS_NUM_THREADS=2 python benchmarks/gemm_ceiling.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/gemm_ceiling.py --repeats 50

The Criteo-like MLP of the shared benchmark (deep input 13 + 26 x 16 = 429 columns, hidden
[400, 400, 400], one output) at batch 1024 does exactly 12 matrix products per step:

- forward, 4: ``a_l = a_{l-1} W_l`` for the four layers;
- backward, 8: per layer ``dW_l = a_{l-1}^T g_l`` and ``g_{l-1} = g_l W_l^T`` (the first
  layer's input gradient feeds the embeddings, so it is needed too).

This script times that chain in NumPy alone (float32, outputs preallocated, the same BLAS
threads as the process), a large square sgemm (2048^2, the machine's GEMM peak as NumPy
reaches it) and, in the same process and on the same threads, widedeep's whole train step
(`partial_fit`, the benchmark's model and batch). It reports the chain's GFLOP/s, its
fraction of the square sgemm's GFLOP/s, and its fraction of widedeep's step: how much of
the step is GEMM at the hardware's pace and how much is everything else.

Timings are medians of ``--repeats`` runs interleaved (chain, sgemm, step, chain, ...).
The clock is wall time, except with one BLAS thread where it defaults to the process CPU
time (``--clock``), which a loaded machine disturbs much less (the header prints the load).
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


def chain_shapes(batch=1024, widths=(429, 400, 400, 400, 1)):
    """``[(m, k, n)]`` of the 12 products of one step (forward, then backward)."""
    forward = [(batch, widths[i], widths[i + 1]) for i in range(len(widths) - 1)]
    backward = []
    for i in range(len(widths) - 2, -1, -1):
        backward.append((widths[i], batch, widths[i + 1]))   # dW = a^T g
        backward.append((batch, widths[i + 1], widths[i]))   # g W^T
    return forward + backward


def flops(shapes):
    return sum(2 * m * k * n for m, k, n in shapes)


class Chain:
    """The step's 12 products on random float32 data, outputs preallocated."""

    def __init__(self, batch, widths, rng):
        f32 = np.float32
        self.weights = [rng.standard_normal((widths[i], widths[i + 1])).astype(f32)
                        for i in range(len(widths) - 1)]
        self.acts = [rng.standard_normal((batch, w)).astype(f32) for w in widths]
        self.grads = [np.empty((batch, w), f32) for w in widths]
        self.dW = [np.empty_like(w) for w in self.weights]

    def run(self):
        for i, W in enumerate(self.weights):
            np.matmul(self.acts[i], W, out=self.acts[i + 1])
        for i in range(len(self.weights) - 1, -1, -1):
            g = self.grads[i + 1] if i + 1 < len(self.weights) else self.acts[-1]
            np.matmul(self.acts[i].T, g, out=self.dW[i])
            np.matmul(g, self.weights[i].T, out=self.grads[i])


def median_ms(samples):
    return float(np.median(samples)) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--square", type=int, default=2048)
    ap.add_argument("--no-step", action="store_true", help="skip widedeep's step")
    ap.add_argument("--clock", choices=["wall", "cpu"],
                    default="cpu" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else "wall")
    a = ap.parse_args(argv)
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    rng = np.random.default_rng(0)
    widths = (429, 400, 400, 400, 1)
    shapes = chain_shapes(a.batch, widths)
    chain = Chain(a.batch, widths, rng)
    s = a.square
    A = rng.standard_normal((s, s)).astype(np.float32)
    B = rng.standard_normal((s, s)).astype(np.float32)
    C = np.empty((s, s), np.float32)

    step = None
    if not a.no_step:
        import widedeep_bench as wb
        import common
        hp = common.hparams("criteo")
        hp["batch"] = a.batch
        ds = common.load("criteo")
        est, wide = wb.build_estimator(ds.schema, hp, 0, ds.train.wide[:4096])
        # the step on the same BLAS threads as the chain (the estimator's default n_threads
        # would limit it to one inside partial_fit)
        est.set_params(n_threads=int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
        batches = [ds.train.batch(k * a.batch, (k + 1) * a.batch) for k in range(8)]
        prepared = [(wb.batch_features(b, ds.schema, wide), b.label) for b in batches]
        for x, y in prepared:
            est.partial_fit(x, y)
        counter = iter(range(10 ** 9))

        def step():
            x, y = prepared[next(counter) % len(prepared)]
            est.partial_fit(x, y)

    for _ in range(3):
        chain.run()
        np.matmul(A, B, out=C)
    times = {"chain": [], "square": [], "step": []}
    for _ in range(a.repeats):
        t0 = clock()
        chain.run()
        t1 = clock()
        np.matmul(A, B, out=C)
        t2 = clock()
        times["chain"].append(t1 - t0)
        times["square"].append(t2 - t1)
        if step is not None:
            t3 = clock()
            step()
            times["step"].append(clock() - t3)
    chain_ms, square_ms = median_ms(times["chain"]), median_ms(times["square"])
    chain_gflops = flops(shapes) / chain_ms / 1e6
    square_gflops = 2 * s ** 3 / square_ms / 1e6
    load = os.getloadavg()[0]
    print(f"threads={os.environ.get('OPENBLAS_NUM_THREADS')} batch={a.batch} "
          f"repeats={a.repeats} clock={a.clock} load(1 min)={load:.2f} numpy={np.__version__}")
    print(f"GEMM chain: 12 products, {flops(shapes) / 1e9:.2f} GFLOP: {chain_ms:.2f} ms "
          f"= {chain_gflops:.0f} GFLOP/s")
    print(f"square sgemm {s}^2: {square_ms:.1f} ms = {square_gflops:.0f} GFLOP/s; the chain "
          f"runs at {100 * chain_gflops / square_gflops:.0f}% of it")
    if step is not None:
        step_ms = median_ms(times["step"])
        print(f"widedeep train step (partial_fit, same threads): {step_ms:.2f} ms; the GEMM "
              f"chain is {100 * chain_ms / step_ms:.0f}% of it, the rest "
              f"{step_ms - chain_ms:.2f} ms")
    print("\n| product | m x k x n | GFLOP |\n|---|---|---|")
    for j, (m, k, n) in enumerate(shapes):
        kind = "forward" if j < 4 else ("dW = a^T g" if (j - 4) % 2 == 0 else "g W^T")
        print(f"| {j + 1} {kind} | {m} x {k} x {n} | {2 * m * k * n / 1e9:.3f} |")


if __name__ == "__main__":
    main()

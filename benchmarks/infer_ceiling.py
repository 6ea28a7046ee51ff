"""The GEMM ceiling of inference (issue 12, items 4-5): a config's forward products at its
inference batch, in NumPy alone and in PyTorch, next to widedeep's whole prediction.

    OPENBLAS_NUM_THREADS=1 python benchmarks/infer_ceiling.py --config paper
    OPENBLAS_NUM_THREADS=2 python benchmarks/infer_ceiling.py --config adult --threads 2

For the shared benchmark's MLP of ``--config`` (deep input width from its schema, hidden
layers from ``common.HPARAMS``, one output) at its inference batch (Criteo 1024, Adult 256,
Paper 100 rows), one forward pass is ``len(hidden) + 1`` products ``a_l = a_{l-1} W_l``,
each followed by its bias and (but the last) a ReLU. The script times, interleaved, on the
same BLAS threads:

- ``numpy``: the products as widedeep stores the weights (``W`` C-ordered [in, out]),
  outputs preallocated, bias and ReLU in place: the floor of widedeep's dense layers;
- ``numpy, W stored [out, in]``: the same products with each weight stored transposed
  (``x @ Wt.T``, the layout of ``torch.nn.Linear``): what a change of storage would give;
- ``torch``: the same ``nn.Linear``/ReLU chain under ``torch.inference_mode`` (when torch
  is installed; ``torch.set_num_threads`` = the BLAS threads), which is what the torch
  peer's forward pays for its products;
- widedeep's ``predict_proba`` of a model trained for ``--train`` steps on the config's
  data, and the benchmark's ``prepare`` of the same batch;
- the torch peer with the fused embedding layout (``../shared/bench/torch_wd.py``, trained
  for the same steps): its ``predict`` and its ``prepare`` (``to_torch``) of that batch,
  and the ratio of the two sides' prepare + predict (``--no-peer`` skips it).

Each line gives ms per call (median of ``--repeats`` windows of ``--calls`` calls) and
GFLOP/s. The clock is the process CPU time with one thread (``--clock``), which a busy
machine disturbs much less than wall time; with two threads use a quiet machine.
"""
from __future__ import annotations

import argparse
import os
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


def mlp_widths(schema, hp):
    """``[d_0, hidden..., 1]``: the deep input width and every layer's output width."""
    sparse = len(schema["cat_fields"]) + len(schema["bag_fields"])
    return [int(schema["dense_dim"]) + sparse * int(hp["embed_dim"]), *hp["hidden"], 1]


def numpy_chain(x, weights, biases, transposed):
    """The forward products as one callable; ``transposed``: weights stored [out, in]."""
    stored = [np.ascontiguousarray(W.T) for W in weights] if transposed else weights
    outs = [np.empty((x.shape[0], W.shape[1]), np.float32) for W in weights]
    last = len(weights) - 1

    def run():
        h = x
        for k, (W, b, out) in enumerate(zip(stored, biases, outs)):
            np.matmul(h, W.T if transposed else W, out=out)
            out += b
            if k < last:
                np.maximum(out, 0, out=out)
            h = out
        return h
    return run


def torch_chain(x, weights, biases, threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    layers = []
    for k, (W, b) in enumerate(zip(weights, biases)):
        linear = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if k < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    tx = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            return model(tx)
    return run


def torch_peer(ds, hp, steps):
    """The shared bench's torch peer with the fused embedding layout (``torch_wd.py``),
    trained for ``steps`` batches: ``(trainer, to_torch)``, or None without it."""
    try:
        import torch
        import torch_wd
    except ImportError:
        return None
    torch.manual_seed(0)
    trainer = torch_wd.Trainer(ds.schema, hp, "fused")
    for k in range(steps):
        trainer.train_step(torch_wd.to_torch(ds.train.batch(k * hp["batch"],
                                                            (k + 1) * hp["batch"])))
    return trainer, torch_wd.to_torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="paper", choices=["criteo", "adult", "paper"])
    ap.add_argument("--threads", type=int,
                    default=int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--train", type=int, default=5, help="train steps before predicting")
    ap.add_argument("--no-peer", action="store_true", help="skip the torch fused peer")
    ap.add_argument("--clock", choices=["wall", "cpu"],
                    default="cpu" if os.environ.get("OPENBLAS_NUM_THREADS") == "1" else "wall")
    a = ap.parse_args(argv)
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    hp = common.hparams(a.config)
    ds = common.load(a.config)
    batch = int(hp["infer_batch"])
    widths = mlp_widths(ds.schema, hp)
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((widths[i], widths[i + 1])) / np.sqrt(widths[i]))
               .astype(np.float32) for i in range(len(widths) - 1)]
    biases = [np.full(w, 0.01, np.float32) for w in widths[1:]]
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)

    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    est, wide = wb.build_estimator(ds.schema, hp, 0, sample)
    est.set_params(n_threads=a.threads)
    for k in range(a.train):
        b = ds.train.batch(k * hp["batch"], (k + 1) * hp["batch"])
        est.partial_fit(wb.batch_features(b, ds.schema, wide), b.label)
    test = ds.test.batch(0, batch)
    features = wb.batch_features(test, ds.schema, wide)

    runs = {"numpy (W [in, out], as widedeep stores it)": numpy_chain(x, weights, biases, False),
            "numpy, W stored [out, in]": numpy_chain(x, weights, biases, True)}
    torch_run = torch_chain(x, weights, biases, a.threads)
    if torch_run is not None:
        runs["torch nn.Linear chain"] = torch_run
    runs["widedeep predict_proba (whole call)"] = lambda: est.predict_proba(features)
    runs["widedeep prepare (batch_features)"] = lambda: wb.batch_features(test, ds.schema,
                                                                          wide)
    peer = torch_peer(ds, hp, a.train) if torch_run is not None and not a.no_peer else None
    if peer is not None:
        trainer, to_torch = peer
        tensors = to_torch(test)
        runs["torch fused peer: predict"] = lambda: trainer.predict(tensors).numpy()
        runs["torch fused peer: prepare (to_torch)"] = lambda: to_torch(test)
    for run in runs.values():
        run()
        run()
    samples = {name: [] for name in runs}
    for _ in range(a.repeats):
        for name, run in runs.items():
            t0 = clock()
            for _ in range(a.calls):
                run()
            samples[name].append((clock() - t0) / a.calls)
    gflop = sum(2 * batch * widths[i] * widths[i + 1] for i in range(len(widths) - 1)) / 1e9
    print(f"config={a.config} batch={batch} widths={widths} threads={a.threads} "
          f"clock={a.clock} load(1 min)={os.getloadavg()[0]:.2f} numpy={np.__version__} "
          f"openblas={wb.openblas_corename()}")
    print(f"forward products: {gflop:.4f} GFLOP per call\n")
    print("| what | ms per call | GFLOP/s of the products |\n|---|---|---|")
    for name, values in samples.items():
        ms = float(np.median(values)) * 1e3
        rate = f"{gflop / ms * 1e3:.0f}" if "prepare" not in name else "-"
        print(f"| {name} | {ms:.3f} | {rate} |")
    ours = [n for n in samples if n.startswith("widedeep")]
    theirs = [n for n in samples if n.startswith("torch fused peer")]
    if theirs:
        total = {side: sum(float(np.median(samples[n])) for n in names)
                 for side, names in (("widedeep", ours), ("torch", theirs))}
        print(f"\nprepare + predict per batch: widedeep {total['widedeep'] * 1e3:.3f} ms, "
              f"torch fused {total['torch'] * 1e3:.3f} ms -> widedeep at "
              f"{total['torch'] / total['widedeep']:.2f}x the peer's speed ({a.clock} time)")


if __name__ == "__main__":
    main()

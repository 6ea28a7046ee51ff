"""Quality of ``DaskTrainer(mode="delta_sum")`` against sync and sequential training.

    WD_BENCH_DATA=/tmp/wdbench_data python benchmarks/dask_modes.py \\
        --data app_store criteo --workers 2 4 --merge-every 1 8 --epochs 2

Data (the same rows, in the same order, for every run):

- ``app_store``: `widedeep.datasets.make_app_store` (``--rows`` impressions of day 0 for
  training, ``--test-rows`` of day 1 for testing), the app-store example's `FeatureSpec`
  (``examples/app_store.py``: shared app vocabulary, installed x impression cross),
  hidden layers (64, 32);
- ``criteo``: the Criteo-like data and model of the shared benchmark
  (`benchmarks/widedeep_bench.py`: 26 embedding fields of 16, wide crosses, 3x400 ReLU,
  AdaGrad + FTRL as its HPARAMS), the first ``--rows`` training rows and ``--test-rows``
  test rows.

Global batches of ``--batch`` rows, cut into ``--partitions`` partitions (``batch /
partitions`` rows of each per step), float32, no shuffling, no dropout. Runs:

- **sync (one process)**: ``estimator.fit`` on the global batches — what ``mode="sync"``
  computes (equal to 1e-10 in float64, `tests/dask/test_sync_equivalence.py`); with
  ``--check-sync`` a real sync DaskTrainer run with the largest W is added;
- **sequential, batch B/W**: one process on the same rows in the same order in batches of
  ``batch / W`` rows (what W workers' local steps see, one after another);
- **delta_sum W, k**: a LocalCluster of W single-threaded worker processes,
  ``DaskTrainer(mode="delta_sum", merge_every=k)``.

Reported: test log-loss and AUC after each epoch (`estimator.evaluate` on the held-out
rows, exact), and the seconds per run (machine shared: indicative only).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples"))

import numpy as np  # noqa: E402


# ---------------------------------------------------------------------- data
def app_store_world(args):
    from app_store import build_spec
    from widedeep.datasets import make_app_store
    train, y = make_app_store(args.rows, random_state=0)
    test, y_test = make_app_store(args.test_rows, day=1, random_state=0)
    spec = build_spec(cross_buckets=1 << 16).fit([train])

    def batches(rows_per_batch, partitions, n_steps):
        """partition p's s-th batch: rows ((s * partitions + p) * r, ... + r)."""
        out = [[] for _ in range(partitions)]
        for s in range(n_steps):
            for p in range(partitions):
                a = (s * partitions + p) * rows_per_batch
                rows = np.arange(a, a + rows_per_batch)
                part = {k: v.take(rows) if hasattr(v, "take") and not isinstance(
                    v, np.ndarray) else v[rows] for k, v in train.items()}
                out[p].append((spec.transform(part), y[a:a + rows_per_batch].astype(float)))
        return out

    def build():
        return spec.build_estimator("wide_deep", hidden_units=(64, 32), dropout=0.0,
                                    batch_size=args.batch, shuffle=False,
                                    early_stopping=False, random_state=0)
    return batches, build, (spec.transform(test), y_test.astype(float))


def criteo_world(args):
    from widedeep_bench import batch_features, build_estimator, common
    hp = common.hparams("criteo")
    ds = common.load("criteo")
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    _, wide = build_estimator(ds.schema, hp, 0, sample)

    def batches(rows_per_batch, partitions, n_steps):
        out = [[] for _ in range(partitions)]
        for s in range(n_steps):
            for p in range(partitions):
                a = (s * partitions + p) * rows_per_batch
                b = ds.train.batch(a, a + rows_per_batch)
                out[p].append((batch_features(b, ds.schema, wide), b.label.astype(float)))
        return out

    def build():
        estimator, _ = build_estimator(ds.schema, hp, 0, sample)
        return estimator.set_params(batch_size=args.batch, shuffle=False)
    test = ds.test.batch(0, args.test_rows)
    return batches, build, (batch_features(test, ds.schema, wide), test.label.astype(float))


# ---------------------------------------------------------------------- runs
def one_process(build, sources, test, epochs):
    from widedeep.dask import global_batches
    model, curve = build(), []
    start = time.process_time()
    for epoch in range(epochs):
        model.set_params(warm_start=epoch > 0)
        model.fit(global_batches(sources, first_epoch=epoch), epochs=1)
        metrics = model.evaluate(*test)
        curve.append((metrics["logloss"], metrics["auc"]))
    return curve, time.process_time() - start


def on_cluster(build, sources, test, epochs, workers, **trainer_args):
    import distributed
    from widedeep.dask import DaskTrainer
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    try:
        with distributed.Client(cluster) as client:
            start = time.perf_counter()
            model = DaskTrainer(build(), client, **trainer_args).fit(
                sources, epochs=epochs, eval_set=test)
            seconds = time.perf_counter() - start
    finally:
        cluster.close()
    return [(r["eval_logloss"], r["eval_auc"]) for r in model.history_], seconds


def row(name, curve, seconds, unit):
    cells = " | ".join(f"{loss:.4f} / {auc:.4f}" for loss, auc in curve)
    return f"| {name} | {cells} | {seconds:.0f} {unit} |"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", default=["app_store", "criteo"])
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--merge-every", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rows", type=int, default=65_536)
    ap.add_argument("--test-rows", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--check-sync", action="store_true")
    args = ap.parse_args(argv)
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} vCPU (shared with "
          f"other jobs, load average {os.getloadavg()[0]:.1f}); command: python "
          f"benchmarks/dask_modes.py {' '.join(argv or sys.argv[1:])}\n")
    steps = args.rows // args.batch
    for name in args.data:
        batches, build, test = (app_store_world if name == "app_store" else criteo_world)(args)
        sources = batches(args.batch // args.partitions, args.partitions, steps)
        header = " | ".join(f"epoch {e + 1} logloss / AUC" for e in range(args.epochs))
        print(f"### {name}: {steps * args.batch:,} training rows, {len(test[1]):,} test "
              f"rows, global batch {args.batch} in {args.partitions} partitions\n")
        print(f"| run | {header} | time |")
        print("|---|" + "---|" * args.epochs + "---|")
        curve, cpu = one_process(build, sources, test, args.epochs)
        print(row("sync (= one process, batch B)", curve, cpu, "s CPU"), flush=True)
        if args.check_sync:
            w = max(args.workers)
            curve, wall = on_cluster(build, sources, test, args.epochs, w)
            print(row(f"sync, DaskTrainer W={w}", curve, wall, "s wall"), flush=True)
        for workers in args.workers:
            small = batches(args.batch // workers, 1, steps * workers)
            curve, cpu = one_process(build, small, test, args.epochs)
            print(row(f"sequential, batch B/{workers}", curve, cpu, "s CPU"), flush=True)
            for k in args.merge_every:
                curve, wall = on_cluster(build, sources, test, args.epochs, workers,
                                         mode="delta_sum", merge_every=k)
                print(row(f"delta_sum W={workers}, k={k}", curve, wall, "s wall"),
                      flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

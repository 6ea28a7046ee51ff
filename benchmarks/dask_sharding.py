"""Bytes per step per worker of ``DaskTrainer(shard_state=True)`` against replicated sync
mode, for W = 1, 2, 4 on a LocalCluster (Criteo-like config of the shared benchmark).

    WD_BENCH_DATA=/tmp/wdbench_data python benchmarks/dask_sharding.py \\
        --workers 1 2 4 --rows-per-worker 256 --steps 8

Each worker reads one partition of ``--rows-per-worker`` rows per step, so the global batch
grows with W (``W x rows``): the setting in which a per-worker cost that grows with W
would show. For each W and each mode one pass of ``--steps`` global batches; from
``trainer.step_log_["bytes_per_worker"]`` (what each replica sends plus receives through
the driver in a step) the median over steps of the mean and of the largest worker's bytes,
and the sparse part alone (the total minus the dense gradient each replica sends and the
dense sum it receives, ``2 x`` the dense parameters' bytes, which is the same for every W).

Replicated sync: a replica sends its gradient and receives the whole sum (every distinct
id of the global batch), all through the driver. Sharded: it sends the ids it reads, the
values of its owned rows others read and the slices of its gradient others own, and
receives the ids it must serve, the values it reads and the slices of its rows, all
directly to and from the other workers; only the dense part (dense gradients, bias)
goes through the driver (column "through the driver, to peers": per worker and step,
what it exchanges with the driver and what it sends to other workers).

Last column: the bytes of sparse state (wide ``w``/``z``/``n``, embedding tables and their
accumulators) a worker holds after the pass, the largest worker's: its owned rows and its
batch-sized window (`ShardReplica.sparse_nbytes`), against the full tables; a replicated
worker holds the full tables.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from dask_scaling import make_partitions  # noqa: E402
from widedeep_bench import build_estimator, common  # noqa: E402


def measure(n_workers, sources, build, shard_state):
    import distributed
    from widedeep.dask import DaskTrainer
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    try:
        with distributed.Client(cluster) as client:
            estimator = build()
            trainer = DaskTrainer(estimator, client, shard_state=shard_state)
            trainer.fit(sources, epochs=1)
    finally:
        cluster.close()
    dense = 2 * sum(v.nbytes for v in estimator.deep_.dense_params().values())
    log = trainer.step_log_
    per_worker = np.array([entry["bytes_per_worker"] for entry in log], dtype=float)
    return {"mean": float(np.median(per_worker.mean(axis=1))),
            "max": float(np.median(per_worker.max(axis=1))),
            "sparse_mean": float(np.median(per_worker.mean(axis=1) - dense)),
            "sparse_max": float(np.median(per_worker.max(axis=1) - dense)),
            "wall_ms": float(np.median([entry["wall_ms"] for entry in log])),
            "dense": dense, "held": held_bytes(estimator, trainer),
            "driver": float(np.median([(entry["bytes_to_driver"] + entry["bytes_from_driver"])
                                       / n_workers for entry in log])),
            "peers": float(np.median([entry.get("bytes_worker_to_worker", 0) / n_workers
                                      for entry in log]))}


def held_bytes(estimator, trainer):
    """(full sparse-state bytes of the model, largest worker's store, largest window) of a
    sharded run (None for replicated: every worker holds the full tables)."""
    from widedeep.training.sharding import sparse_state
    full = sum(a.nbytes for arrays in sparse_state(estimator.step_).values()
               for a in arrays.values())
    held = getattr(trainer, "worker_sparse_bytes_", None)
    if held is None:
        return full, full, 0
    return (full, max(sum(w["store"].values()) for w in held),
            max(sum(w["window"].values()) for w in held))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--rows-per-worker", type=int, default=256)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args(argv)
    hp = common.hparams("criteo")
    ds = common.load("criteo")
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    _, wide = build_estimator(ds.schema, hp, 0, sample)
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} vCPU (shared with "
          f"other jobs, load average {os.getloadavg()[0]:.1f}); command: python "
          f"benchmarks/dask_sharding.py {' '.join(argv or sys.argv[1:])}\n")
    print("| workers | global batch | mode | bytes/step/worker (mean, max) | sparse part "
          "(mean, max) | through the driver, to peers (per worker) | wall ms/step | sparse "
          "state held per worker: rows, window (of full) |")
    print("|---|---|---|---|---|---|---|---|")
    for n_workers in args.workers:
        batch = args.rows_per_worker * n_workers
        sources = make_partitions(ds.train, ds.schema, wide, args.steps, batch, n_workers)

        def build():
            estimator, _ = build_estimator(ds.schema, hp, 0, sample)
            return estimator.set_params(batch_size=batch, shuffle=False)
        for shard_state in (False, True):
            m = measure(n_workers, sources, build, shard_state)
            print(f"| {n_workers} | {batch} | {'sharded' if shard_state else 'replicated'} | "
                  f"{m['mean'] / 1e6:.2f} MB, {m['max'] / 1e6:.2f} MB | "
                  f"{m['sparse_mean'] / 1e6:.3f} MB, {m['sparse_max'] / 1e6:.3f} MB | "
                  f"{m['driver'] / 1e6:.3f} MB, {m['peers'] / 1e6:.3f} MB | "
                  f"{m['wall_ms']:.0f} | {m['held'][1] / 1e6:.2f} MB, "
                  f"{m['held'][2] / 1e6:.2f} MB ({m['held'][0] / 1e6:.2f} MB) |", flush=True)
    print(f"\n(dense part per worker and step: {m['dense'] / 1e6:.2f} MB, the same in "
          f"every row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

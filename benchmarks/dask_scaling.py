"""DaskTrainer on a LocalCluster with 1, 2 and 4 workers, Criteo-like data (the shared
benchmark's ``criteo`` config and model, `benchmarks/widedeep_bench.py`).

    WD_BENCH_DATA=/tmp/wdbench_data python benchmarks/dask_scaling.py \\
        --workers 1 2 4 --steps 40 --batch 1024

For each W: a fresh LocalCluster (W single-threaded worker processes, 127.0.0.1), the same
``--steps`` global batches of ``--batch`` rows cut into ``--partitions`` partitions
(``batch / partitions`` rows of each per step), one warm-up pass, then one timed pass.
Reported per W (medians over the timed steps): compute / combine / apply / communication ms
(from ``trainer.step_log_``), wall ms per step, examples/s over the steps' wall time, the
fit's fixed overhead outside the steps (starting replicas, sending them the model, fetching
it back; seconds per ``fit``), and the bytes a step sends
(replicas -> driver, driver -> replicas) next to the **model's prediction** of them,
computed from the data alone: a replica sends, per wide coordinate and per embedding row its
rows touch, the id (8 bytes) and the gradient (8 bytes wide, ``dim * 4`` embedding), plus
every dense parameter once and the 8-byte bias; the driver sends the sum (distinct ids of
the whole batch) to each of the W replicas. The baseline is one process training the same
global batches (`global_batches`, the estimator's own loop).

Then a **simulated** curve for 1..64 workers from the measured costs. Assumptions: compute
splits evenly over the rows (t_c(W) = t_c(1) / W); apply is replicated (constant); the
driver's combine grows linearly with the bytes it receives (the ms per byte measured at
the smallest W > 1 run; with one replica there is nothing to sum); communication per step is
2 round trips of ``--latency-ms`` plus the step's bytes through one driver link of
``--bandwidth-mb`` MB/s (a star topology: the driver's link is the bottleneck); the bytes
of W shards come from the model's prediction on this data. It is a model, not a measurement.

The machine note matters: a 2-vCPU box (shared with other jobs) cannot run more than two
processes in parallel, so W = 2 and W = 4 here measure overhead, not speed-up.
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

import numpy as np  # noqa: E402


from widedeep_bench import batch_features, build_estimator, common  # noqa: E402


def make_partitions(split, schema, wide, steps, batch, partitions):
    """``partitions`` lists of (features, y) batches; global batch s = their s-th batches."""
    rows = batch // partitions
    out = [[] for _ in range(partitions)]
    for s in range(steps):
        for p in range(partitions):
            start = (s * partitions + p) * rows
            b = split.batch(start, start + rows)
            out[p].append((batch_features(b, schema, wide), b.label.astype(np.float64)))
    return out


def predicted_bytes(estimator, shards):
    """(bytes replicas -> driver, bytes driver -> replicas) of one step whose W shards are
    ``shards`` (lists of feature dicts), from the model's structure and the shards' ids."""
    wide, deep = estimator.wide_, estimator.deep_
    dense = sum(v.nbytes for v in deep.dense_params().values())
    groups = deep.embeddings.groups

    def gradient_bytes(features):
        if not features:
            return 8 + dense
        coords = sum(np.unique(np.concatenate([f[name].feature_ids for f in features])).size
                     for name in wide.field_sizes)
        total = 16 * coords + 8 + dense
        for group in groups:
            rows = [np.unique(np.concatenate([f[field].feature_ids for f in features]))
                    + group.offsets[vocab]
                    for field, vocab in deep.embeddings.field_vocabs.items()
                    if vocab in group.offsets]
            if rows:
                n_rows = np.unique(np.concatenate(rows)).size
                total += n_rows * (8 + group.table.shape[1] * group.table.itemsize)
        return total

    up = sum(gradient_bytes(shard) for shard in shards)
    down = len(shards) * gradient_bytes([f for shard in shards for f in shard])
    return up, down


def shards_of_step(sources, step, n_workers):
    from widedeep.dask.sources import assign_sources
    return [[sources[p][step][0] for p in block if len(sources[p]) > step]
            for block in assign_sources(len(sources), n_workers)]


def run_workers(n_workers, sources, build, args):
    import distributed
    from widedeep.dask import DaskTrainer
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                       processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    try:
        with distributed.Client(cluster) as client:
            estimator = build()
            trainer = DaskTrainer(estimator, client)
            trainer.fit(sources, epochs=1)                 # warm-up pass
            estimator.set_params(warm_start=True)
            start = time.perf_counter()
            trainer.fit(sources, epochs=1)
            seconds = time.perf_counter() - start
            log = trainer.step_log_
    finally:
        cluster.close()
    med = {key: float(np.median([r[key] for r in log]))
           for key in ("compute_ms", "combine_ms", "apply_ms", "communication_ms", "wall_ms",
                       "bytes_to_driver", "bytes_from_driver")}
    step_seconds = sum(r["wall_ms"] for r in log) / 1e3
    med["examples_per_second"] = sum(r["rows"] for r in log) / step_seconds
    med["overhead_seconds"] = seconds - step_seconds   # replicas, model transfer, snapshot
    predicted = [predicted_bytes(estimator, shards_of_step(sources, s, n_workers))
                 for s in range(len(log))]
    med["predicted_to_driver"] = float(np.median([p[0] for p in predicted]))
    med["predicted_from_driver"] = float(np.median([p[1] for p in predicted]))
    med["guards"] = trainer.worker_environment_[0]
    return med


def one_process(sources, build):
    from widedeep.dask import global_batches
    estimator = build()
    estimator.fit(global_batches(sources), epochs=1)   # warm-up
    estimator.set_params(warm_start=True)
    start = time.perf_counter()
    estimator.fit(global_batches(sources), epochs=1)
    seconds = time.perf_counter() - start
    steps = len(max(sources, key=len))
    return {"wall_ms": seconds / steps * 1e3,
            "examples_per_second": sum(len(b[1]) for s in sources for b in s) / seconds}


def simulate(measured_1, estimator, sources, args, combine_ms_per_byte=None):
    """Simulated ms per step for W = 1..64 (see the module docstring's assumptions).
    ``combine_ms_per_byte``: the driver's summing cost, measured with W > 1 (with one
    replica there is nothing to sum); default: W = 1's, which is ~0."""
    if combine_ms_per_byte is None:
        combine_ms_per_byte = measured_1["combine_ms"] / max(measured_1["bytes_to_driver"], 1)
    lines = []
    for n_workers in (1, 2, 4, 8, 16, 32, 64):
        parts = max(len(sources), n_workers)
        up, down = predicted_bytes(estimator, shards_of_step(sources, 0, min(n_workers,
                                                                             len(sources))))
        if n_workers > len(sources):   # more workers than partitions: scale the shards
            up *= n_workers / len(sources)
            down *= n_workers / len(sources)
        compute = measured_1["compute_ms"] / n_workers
        combine = combine_ms_per_byte * up if n_workers > 1 else 0.0
        comm = 2 * args.latency_ms + (up + down) / (args.bandwidth_mb * 1e6) * 1e3
        total = compute + combine + measured_1["apply_ms"] + comm
        lines.append((n_workers, compute, combine, measured_1["apply_ms"], comm, total,
                      parts))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--latency-ms", type=float, default=0.8,
                    help="simulated round trip (issue: ~0.8 ms per actor call)")
    ap.add_argument("--bandwidth-mb", type=float, default=2000.0,
                    help="simulated driver link, MB/s (issue: ~0.5 ms per MB)")
    args = ap.parse_args(argv)
    hp = common.hparams("criteo")
    ds = common.load("criteo")
    sample = ds.train.wide[:4096] if isinstance(ds.train.wide, np.ndarray) else ds.train.wide
    _, wide = build_estimator(ds.schema, hp, 0, sample)

    def build():
        estimator, _ = build_estimator(ds.schema, hp, 0, sample)
        return estimator.set_params(batch_size=args.batch, shuffle=False)

    sources = make_partitions(ds.train, ds.schema, wide, args.steps, args.batch,
                              args.partitions)
    print(f"# DaskTrainer scaling, criteo-like, {args.steps} steps of {args.batch} rows, "
          f"{args.partitions} partitions\n")
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} vCPU (shared with other jobs); command: python "
          f"benchmarks/dask_scaling.py {' '.join(argv or sys.argv[1:])}\n")
    base = one_process(sources, build)
    print(f"one process (estimator.fit on the same global batches): "
          f"{base['wall_ms']:.1f} ms/step, {base['examples_per_second']:,.0f} ex/s\n")
    print("| workers | compute ms | combine ms | apply ms | comm ms | wall ms/step | ex/s | "
          "bytes up (pred.) | bytes down (pred.) | fit overhead s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    measured = {}
    for n_workers in args.workers:
        m = measured[n_workers] = run_workers(n_workers, sources, build, args)
        print(f"| {n_workers} | {m['compute_ms']:.1f} | {m['combine_ms']:.1f} | "
              f"{m['apply_ms']:.1f} | {m['communication_ms']:.1f} | {m['wall_ms']:.1f} | "
              f"{m['examples_per_second']:,.0f} | {m['bytes_to_driver']:,.0f} "
              f"({m['predicted_to_driver']:,.0f}) | {m['bytes_from_driver']:,.0f} "
              f"({m['predicted_from_driver']:,.0f}) | {m['overhead_seconds']:.1f} |",
              flush=True)
    first = measured[min(measured)]
    print(f"\nworker guards: {first['guards']}\n")
    estimator = build().initialize()
    print(f"simulated (latency {args.latency_ms} ms, driver link {args.bandwidth_mb:g} MB/s):\n")
    print("| workers | compute ms | combine ms | apply ms | comm ms | total ms/step | "
          "ex/s |")
    print("|---|---|---|---|---|---|---|")
    several = [measured[n] for n in sorted(measured) if n > 1]
    rate = several[0]["combine_ms"] / several[0]["bytes_to_driver"] if several else None
    for n, compute, combine, apply, comm, total, _ in simulate(first, estimator, sources,
                                                               args, rate):
        print(f"| {n} | {compute:.2f} | {combine:.2f} | {apply:.2f} | {comm:.2f} | "
              f"{total:.2f} | {args.batch / total * 1e3:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

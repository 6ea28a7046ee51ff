"""Streamed `fit` with and without prefetch (issues 11/12): UCI Adult ``train.csv`` read by
`CsvReader` and featurized by the census `FeatureSpec` (``examples/census.py``) batch by
batch through ``spec.batches``, one wide & deep model, ``fit(..., prefetch=True|False)``.

Runs are interleaved (on, off, off, on, ...) so drifting load from other processes hits
both; each run reports wall seconds and the process's CPU seconds (all threads). The two
modes must train the same parameters; the script checks that and stops if not.

    python benchmarks/prefetch_fit.py [--data DIR] [--batch-size 512] [--epochs 1]
                                      [--repeats 3] [--hidden 64 32]
                                      [--engine python|arrow]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "examples"))

import numpy as np  # noqa: E402
from census import build_spec  # noqa: E402

from widedeep.datasets import ADULT_NUMERIC  # noqa: E402
from widedeep.readers import CsvReader  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "adult"


def make_reader(path, batch_size, engine="python"):
    dtypes = dict({c: "float64" for c in ADULT_NUMERIC}, income_bracket="str")
    return CsvReader(path, batch_size=batch_size, label="income_bracket", strip=True,
                     engine=engine, dtypes=dtypes, na_values=("", "?"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--engine", choices=("python", "arrow"), default="python",
                        help="CsvReader's parser")
    args = parser.parse_args(argv)
    path = Path(args.data) / "train.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data with the UCI Adult train.csv")
    spec = build_spec().fit(make_reader(path, 4096))

    def run(prefetch):
        model = spec.build_estimator("wide_deep", hidden_units=tuple(args.hidden),
                                     batch_size=args.batch_size, epochs=args.epochs,
                                     early_stopping=False, random_state=0)
        batches = spec.batches(make_reader(path, args.batch_size, args.engine), positive=">50K")
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(batches, prefetch=prefetch)
        return time.perf_counter() - wall, time.process_time() - cpu, model.get_state()

    run(True)   # warm-up: imports, page cache
    times = {True: [], False: []}
    states = {}
    for k in range(args.repeats):
        for prefetch in ((True, False) if k % 2 == 0 else (False, True)):
            wall, cpu, states[prefetch] = run(prefetch)
            times[prefetch].append((wall, cpu))
            print(f"run {k} prefetch={prefetch!s:5}: wall {wall:.3f} s, CPU {cpu:.3f} s",
                  flush=True)
    for key in states[False]:
        if not np.array_equal(states[True][key], states[False][key]):
            raise SystemExit(f"prefetch changed the trained parameters ({key})")
    print(f"\nUCI Adult train.csv ({path}), batch {args.batch_size}, {args.epochs} epoch(s), "
          f"engine {args.engine}, "
          f"hidden {args.hidden}, {args.repeats} interleaved runs per mode; parameters "
          f"identical with and without prefetch\n")
    print("| prefetch | median wall s | best wall s | median CPU s |")
    print("| --- | ---: | ---: | ---: |")
    for prefetch in (False, True):
        walls = [w for w, _ in times[prefetch]]
        cpus = [c for _, c in times[prefetch]]
        print(f"| {prefetch} | {statistics.median(walls):.3f} | {min(walls):.3f} | "
              f"{statistics.median(cpus):.3f} |")
    return times


if __name__ == "__main__":
    main()

"""How fast raw census CSV rows become model inputs (the feature dict), in rows per second.

Stages, each timed over whole passes of UCI Adult's ``train.csv`` (32,561 rows) with the
columns of ``examples/census.py`` (8 vocabulary columns feeding both parts, age buckets,
5 quantile-normalized numbers, 3 hashed crosses):

- ``read``:       `CsvReader` alone, text -> column batches (what `load_adult` does);
- ``fit``:        `FeatureSpec.fit` on the loaded column batches (one streaming pass);
- ``transform``:  `FeatureSpec.transform` alone on column batches already in memory;
- ``end to end``: read + transform, batch by batch, as a streaming training input would.

Each stage runs ``--repeats`` times; the table shows the best pass (the least disturbed by
other processes) and the median. Target: featurizing >= 200k rows/s.

    python benchmarks/featurize.py [--data DIR] [--batch-size 4096] [--repeats 5]
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

from census import build_spec  # noqa: E402

from widedeep.datasets import ADULT_NUMERIC  # noqa: E402
from widedeep.readers import CsvReader, batch_length  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "adult"


def make_reader(path, batch_size):
    """The reader `load_adult` uses for the header-ful CSV layout."""
    return CsvReader(path, batch_size=batch_size, dtypes={c: "float64" for c in ADULT_NUMERIC},
                     strip=True, na_values=("", "?"))


def time_passes(run_pass, repeats):
    """``(rows, [seconds per pass])``; ``run_pass()`` returns the rows it processed."""
    seconds = []
    rows = 0
    for _ in range(repeats):
        start = time.perf_counter()
        rows = run_pass()
        seconds.append(time.perf_counter() - start)
    return rows, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="folder with the Adult train.csv (header layout)")
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    path = Path(args.data) / "train.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data with the UCI Adult train.csv")

    reader = make_reader(path, args.batch_size)
    batches = list(reader)
    spec = build_spec().fit(batches)

    def read_pass():
        return sum(batch_length(batch) for batch in make_reader(path, args.batch_size))

    def fit_pass():
        build_spec().fit(batches)
        return sum(batch_length(batch) for batch in batches)

    def transform_pass():
        for batch in batches:
            spec.transform(batch)
        return sum(batch_length(batch) for batch in batches)

    def end_to_end_pass():
        rows = 0
        for batch in make_reader(path, args.batch_size):
            spec.transform(batch)
            rows += batch_length(batch)
        return rows

    stages = [("read (CsvReader)", read_pass), ("fit (FeatureSpec.fit)", fit_pass),
              ("transform (FeatureSpec.transform)", transform_pass),
              ("end to end (read + transform)", end_to_end_pass)]
    print(f"UCI Adult {path.name}, batch size {args.batch_size}, {args.repeats} passes per "
          f"stage, census example columns ({len(spec.columns)} columns)\n")
    print("| stage | rows | best s | best rows/s | median rows/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    results = {}
    for name, run_pass in stages:
        rows, seconds = time_passes(run_pass, args.repeats)
        best, median = min(seconds), statistics.median(seconds)
        results[name] = rows / best
        print(f"| {name} | {rows:,} | {best:.3f} | {rows / best:,.0f} | "
              f"{rows / median:,.0f} |", flush=True)
    return results


if __name__ == "__main__":
    main()

"""Rows/s of CsvReader's built-in parser vs engine="arrow" on UCI Adult (the training file
repeated ``--copies`` times into a temporary file), best of ``--repeats`` passes each,
interleaved; checks first that both engines give the same batches.

    python benchmarks/csv_engines.py --copies 6 --repeats 5
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from widedeep.readers import CsvReader  # noqa: E402

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.path.join(
        os.environ.get("WIDEDEEP_DATA", str(Path(__file__).resolve().parents[2] / "shared"
                                            / "datasets")), "adult", "train.csv"))
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import pyarrow.compute  # noqa: F401  (import time is not reading time)
    lines = Path(args.data).read_text().splitlines(keepends=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "adult_copies.csv"
        path.write_text(lines[0] + "".join(lines[1:]) * args.copies)
        dtypes = {name: "float64" for name in NUMERIC}
        a = CsvReader(path, dtypes=dtypes).read()
        b = CsvReader(path, dtypes=dtypes, engine="arrow").read()
        assert all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)
        best = {}
        for _ in range(args.repeats):
            for engine in ("python", "arrow"):
                reader = CsvReader(path, batch_size=4096, dtypes=dtypes, engine=engine)
                start = time.perf_counter()
                rows = sum(len(batch["age"]) for batch in reader)
                best[engine] = max(best.get(engine, 0.0), rows / (time.perf_counter() - start))
    print(f"rows {rows}: built-in {best['python']:,.0f} rows/s, arrow {best['arrow']:,.0f} "
          f"rows/s, ratio {best['arrow'] / best['python']:.2f}")


if __name__ == "__main__":
    main()

"""Rows/s of CsvReader's built-in parser vs engine="arrow": UCI Adult (the training file
repeated ``--copies`` times into a temporary file, 6 float columns) or the Criteo sample
(``--dataset criteo``: tab-separated, no header, 13 float and 27 string columns), best of
``--repeats`` passes each, interleaved; checks first that both engines give the same
batches. Reports wall-clock rows/s (the engines' speed as a user sees it; the arrow
engine parses and converts on background threads) and CPU rows/s (CPU time of all the
process's threads: what the reading costs a busy machine), with the load average, and
where the arrow engine's CPU time goes: the CPU seconds of each of its threads (pyarrow's
parse, the conversion to NumPy, the caller) in one more pass of each repeat.

    python benchmarks/csv_engines.py --copies 6 --repeats 5
    python benchmarks/csv_engines.py --dataset criteo --copies 20 --repeats 5
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

ADULT_NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss",
                 "hours_per_week"]
CRITEO_NAMES = [f"c{k}" for k in range(40)]      # label, 13 counts, 26 hashed categories


def _datasets_folder():
    return os.environ.get("WIDEDEEP_DATA", str(Path(__file__).resolve().parents[2]
                                               / "shared" / "datasets"))


def _config(dataset):
    """``(default source file, has a header, CsvReader keyword arguments)``."""
    if dataset == "adult":
        return (os.path.join(_datasets_folder(), "adult", "train.csv"), True,
                {"dtypes": {name: "float64" for name in ADULT_NUMERIC}})
    return (os.path.join(_datasets_folder(), "criteo_sample", "train.txt"), False,
            {"header": False, "delimiter": "\t", "names": CRITEO_NAMES,
             "dtypes": {name: "float64" for name in CRITEO_NAMES[1:14]}})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["adult", "criteo"], default="adult")
    parser.add_argument("--data", default=None, help="source file (default: the dataset's)")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=4096)
    args = parser.parse_args(argv)
    import pyarrow.compute  # noqa: F401  (import time is not reading time)
    source, has_header, reader_args = _config(args.dataset)
    lines = Path(args.data or source).read_text().splitlines(keepends=True)
    header, body = (lines[0], lines[1:]) if has_header else ("", lines)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{args.dataset}_copies.csv"
        path.write_text(header + "".join(body) * args.copies)
        a = CsvReader(path, **reader_args).read()
        b = CsvReader(path, engine="arrow", **reader_args).read()
        assert list(a) == list(b)
        assert all(a[k].dtype.kind == b[k].dtype.kind and
                   np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)
        wall, cpu, stages = {}, {}, {}
        for _ in range(args.repeats):
            for name, seconds in _stage_cpu(path, args.batch_size, reader_args).items():
                stages[name] = min(stages.get(name, np.inf), seconds)
            for engine in ("python", "arrow"):
                reader = CsvReader(path, batch_size=args.batch_size, engine=engine,
                                   **reader_args)
                first = reader.columns[0]
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                rows = sum(len(batch[first]) for batch in reader)
                wall[engine] = max(wall.get(engine, 0.0),
                                   rows / (time.perf_counter() - start_wall))
                cpu[engine] = max(cpu.get(engine, 0.0),
                                  rows / (time.process_time() - start_cpu))
    print(f"{args.dataset} x{args.copies}, {rows} rows, best of {args.repeats}, load average "
          f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"  wall: built-in {wall['python']:,.0f} rows/s, arrow {wall['arrow']:,.0f} rows/s, "
          f"ratio {wall['arrow'] / wall['python']:.2f}")
    print(f"  CPU:  built-in {cpu['python']:,.0f} rows/s, arrow {cpu['arrow']:,.0f} rows/s, "
          f"ratio {cpu['arrow'] / cpu['python']:.2f}")
    print(f"  arrow CPU seconds by thread (best of {args.repeats}): " +
          ", ".join(f"{name} {seconds:.3f}" for name, seconds in stages.items()) +
          f"; built-in (one thread) {rows / cpu['python']:.3f}")


def _stage_cpu(path, batch_size, reader_args):
    """CPU seconds of each thread of one pass of the arrow engine: its `ReadAhead`
    threads (named for their stage) and the caller's (which cuts and yields batches)."""
    import threading

    import widedeep.read_ahead as read_ahead
    seconds = {}
    make_items = read_ahead._make_items

    def timed(*args):        # the body of every read-ahead thread
        start = time.thread_time()
        try:
            return make_items(*args)
        finally:
            seconds[threading.current_thread().name] = time.thread_time() - start

    read_ahead._make_items = timed
    try:
        start = time.thread_time()
        for _ in CsvReader(path, batch_size=batch_size, engine="arrow", **reader_args):
            pass
        seconds["caller"] = time.thread_time() - start
    finally:
        read_ahead._make_items = make_items
    return seconds


if __name__ == "__main__":
    main()

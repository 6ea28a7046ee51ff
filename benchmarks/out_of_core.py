"""Peak memory of streamed training against the size of the training file (README
"Bounded memory"). Not a test.

    python benchmarks/out_of_core.py --megabytes 25 100 --cap-mb 16

For each size: writes a synthetic libsvm file (12 ids per row out of 2^16, repeated 20 000-row
blocks) in a temporary directory, then in a fresh subprocess: imports, a warm-up fit on
3 000 rows, records VmRSS, resets the peak (/proc/self/clear_refs), caps private data memory
with setrlimit(RLIMIT_DATA, VmData + cap), trains a WideEstimator one pass over the file
(LibsvmReader, batch 2048) and evaluates it on a second pass (streaming metrics). Prints the
file size, the baseline RSS, the peak RSS growth above it, rows and CPU seconds. Linux only.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

N_FEATURES = 1 << 16


def write_libsvm(path, min_bytes, rows=20_000, per_row=12, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.integers(0, N_FEATURES, size=(rows, per_row)), axis=1)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(ids[:, 0] % 7 - 3) / 2))).astype(int)
    text = "".join(f"{label} " + " ".join(f"{i}:1" for i in row) + "\n"
                   for label, row in zip(y.tolist(), ids.tolist()))
    with open(path, "w") as out:
        written = 0
        while written < min_bytes:
            out.write(text)
            written += len(text)
    return os.path.getsize(path)


def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(path, warm_up, cap):
    from widedeep import WideEstimator
    from widedeep.readers import LibsvmReader

    def reader(p):
        return LibsvmReader(p, batch_size=2048, n_features=N_FEATURES)

    model = WideEstimator({"features": N_FEATURES}, epochs=1, random_state=0,
                          early_stopping=False)
    model.fit(reader(warm_up))
    model.evaluate(reader(warm_up))
    baseline = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    resource.setrlimit(resource.RLIMIT_DATA, (status("VmData") + cap, resource.RLIM_INFINITY))
    cpu = time.process_time()
    model.fit(reader(path))
    metrics = model.evaluate(reader(path))
    print(json.dumps({"baseline_rss": baseline, "peak_rss_growth": status("VmHWM") - baseline,
                      "rows": model.history_[-1]["examples"], "auc": metrics["auc"],
                      "cpu_seconds": time.process_time() - cpu}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, nargs="+", default=[25, 100])
    parser.add_argument("--cap-mb", type=float, default=16)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    cap = int(args.cap_mb * 2 ** 20)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    print(f"cap (RLIMIT_DATA above the warmed-up process): {cap / 2 ** 20:.0f} MiB")
    print("| file MB | rows | baseline RSS MB | peak RSS growth MB | CPU s (fit + evaluate) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        warm_up = os.path.join(folder, "warm_up.svm")
        write_libsvm(warm_up, 1, rows=3000, seed=1)
        for megabytes in args.megabytes:
            path = os.path.join(folder, "train.svm")
            size = write_libsvm(path, int(megabytes * 1e6))
            done = subprocess.run([sys.executable, __file__, "--child", path, warm_up,
                                   str(cap)], capture_output=True, text=True, env=env)
            if done.returncode:
                print(done.stderr[-2000:])
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {size / 1e6:.0f} | {result['rows']:,} | "
                  f"{result['baseline_rss'] / 2 ** 20:.0f} | "
                  f"{result['peak_rss_growth'] / 2 ** 20:.1f} | "
                  f"{result['cpu_seconds']:.1f} |")


if __name__ == "__main__":
    main()

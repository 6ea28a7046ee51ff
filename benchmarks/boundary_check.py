"""Cost of the estimators' input check (every sparse field fully validated at the model
boundary: ids in range, rows sorted, values finite) relative to a train step and to a
prediction, on synthetic census/app-store-like batches.

    OPENBLAS_NUM_THREADS=1 python benchmarks/boundary_check.py

Before issue 10 the boundary checked only each field's largest id; the "max-id only" line
times that older check for comparison. Times are process CPU medians (ms).
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from widedeep import SparseInput, WideDeepEstimator  # noqa: E402


def make_features(n, rng):
    features = {}
    for k in range(8):                        # single-valued categorical fields
        features[f"cat{k}"] = SparseInput.from_ids(rng.integers(0, 1000, n), field=f"cat{k}")
    for k in range(2):                        # bags of ~10 ids (installed apps, ...)
        lengths = rng.poisson(10, n)
        rows = np.repeat(np.arange(n), lengths)
        features[f"bag{k}"] = SparseInput(rows, rng.integers(0, 10000, rows.size),
                                          n_examples=n, field=f"bag{k}")
    features["numeric"] = rng.normal(size=(n, 5)).astype(np.float32)
    return features


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return 1000 * float(np.median(times))


def main():
    rng = np.random.default_rng(0)
    sizes = {f"cat{k}": 1000 for k in range(8)} | {f"bag{k}": 10000 for k in range(2)}
    model = WideDeepEstimator(
        wide_fields=sizes, vocabularies={name: (size, 16) for name, size in sizes.items()},
        embedding_fields={name: name for name in sizes}, dense_fields={"numeric": 5},
        hidden_units=(256, 128), random_state=0)
    for n, what in ((1024, "train batch"), (4096, "predict batch")):
        features = make_features(n, rng)
        y = rng.integers(0, 2, n).astype(np.float64)
        model.partial_fit(features, y)
        check = median_ms(lambda: model._check_model_input(features, n), 50)
        max_only = median_ms(lambda: [x.feature_ids.max() for x in features.values()
                                      if isinstance(x, SparseInput)], 50)
        step = median_ms(lambda: model.partial_fit(features, y), 20)
        predict = median_ms(lambda: model.predict_logit(features), 20)
        print(f"{what} n={n}: input check {check:.3f} ms (max-id only {max_only:.3f} ms); "
              f"partial_fit {step:.2f} ms -> check {100 * check / step:.1f}%; predict_logit "
              f"{predict:.2f} ms -> check {100 * check / predict:.1f}%")


if __name__ == "__main__":
    main()

"""Run in a subprocess by test_out_of_core.py: train under a memory cap and report memory.

    python memory_capped_child.py stream <file.svm> <warm-up.svm> <cap bytes>
    python memory_capped_child.py materialize <file.svm> <warm-up.svm> <cap bytes>
    python memory_capped_child.py table <storage: memory|memmap> <directory> <cap bytes>

After the imports and a warm-up (which loads every lazily imported module and code path),
the process records its resident set (``VmRSS``) and private data size (``VmData``), resets
the peak resident set (``/proc/self/clear_refs``), and limits its private data memory with
``setrlimit(RLIMIT_DATA, VmData + cap)``: heap and private anonymous maps beyond the cap
fail with ``MemoryError``. Prints one JSON line: the outcome and the peak resident-set
growth (``VmHWM - VmRSS`` at the start) in bytes.
"""
import json
import resource
import sys

import numpy as np

from widedeep import DeepEstimator, SparseInput, WideEstimator
from widedeep.readers import LibsvmReader

N_FEATURES = 1 << 16


def status(key):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def cap_memory(cap):
    """Start measuring here; private data memory may grow by at most ``cap`` bytes."""
    baseline = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")   # VmHWM := VmRSS
    resource.setrlimit(resource.RLIMIT_DATA, (status("VmData") + cap, resource.RLIM_INFINITY))
    return baseline


def reader(path):
    return LibsvmReader(path, batch_size=2048, n_features=N_FEATURES)


def stream(path, warm_up, cap, materialize=False):
    model = WideEstimator({"features": N_FEATURES}, epochs=1, random_state=0,
                          early_stopping=False)
    model.fit(reader(warm_up))
    model.evaluate(reader(warm_up))
    baseline = cap_memory(cap)
    out = {}
    try:
        if materialize:   # the control: the whole file as batches does not fit
            out["batches"] = len(list(reader(path)))
        else:
            model.fit(reader(path))                     # a fresh model, one pass
            out["metrics"] = model.evaluate(reader(path))   # a second pass, streamed
            out["examples"] = model.history_[-1]["examples"]
            out["train_logloss"] = model.history_[-1]["train_logloss"]
        out["outcome"] = "completed"
    except MemoryError:
        out["outcome"] = "MemoryError"
    out["peak_rss_growth"] = status("VmHWM") - baseline
    return out


def table(storage, directory, cap):
    rows, dim = 1 << 20, 16          # 64 MiB table + 64 MiB AdaGrad accumulator
    rng = np.random.default_rng(0)
    ids = rng.integers(0, rows, size=20 * 512)
    y = (ids % 3 == 0).astype(np.float64)
    batches = [({"item": SparseInput.from_ids(ids[s:s + 512], vocab_size=rows)}, y[s:s + 512])
               for s in range(0, ids.shape[0], 512)]
    params = dict(vocabularies={"item": (rows, dim)}, embedding_fields={"item": "item"},
                  hidden_units=(8,), epochs=1, random_state=0, early_stopping=False,
                  storage=storage, storage_dir=directory if storage == "memmap" else None)
    DeepEstimator(**dict(params, vocabularies={"item": (1000, dim)}, storage="memory",
                         storage_dir=None)).fit(
        [({"item": SparseInput.from_ids(ids[:512] % 1000, vocab_size=1000)}, y[:512])])
    baseline = cap_memory(cap)
    out = {}
    try:
        model = DeepEstimator(**params).fit(batches)
        out["outcome"] = "completed"
        out["steps"] = model.steps_trained_
        out["table_bytes"] = int(model.get_state()["deep/embedding/item"].nbytes)
    except MemoryError:
        out["outcome"] = "MemoryError"
    out["peak_rss_growth"] = status("VmHWM") - baseline
    return out


if __name__ == "__main__":
    mode, first, second, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if mode == "table":
        result = table(first, second, cap)
    else:
        result = stream(first, second, cap, materialize=mode == "materialize")
    print(json.dumps(result))

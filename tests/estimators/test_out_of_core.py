"""Out-of-core training on one machine under an enforced memory cap (issue 11, item 7).

Each case runs `memory_capped_child.py` in a subprocess that, after its imports and a
warm-up, caps its private data memory with ``setrlimit(RLIMIT_DATA, VmData + cap)``
(``RLIMIT_AS`` would also count thread stacks and file maps) and reports its peak
resident-set growth above that point (``VmHWM`` after resetting it). What the cap bounds:
the heap and private anonymous memory the training allocates beyond the interpreter,
NumPy, widedeep and a warmed-up model; going past it raises ``MemoryError``.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

CHILD = os.path.join(os.path.dirname(__file__), "memory_capped_child.py")
CAP = 8 * 2 ** 20

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.access("/proc/self/clear_refs", os.W_OK),
    reason="needs Linux /proc (VmHWM, clear_refs) and RLIMIT_DATA")


def write_libsvm(path, min_bytes, rows=20_000, n_features=1 << 16, per_row=12, seed=0):
    """A libsvm file of at least ``min_bytes``: one block of ``rows`` random rows (12 sorted
    ids each, label from the first id) written again and again."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.integers(0, n_features, size=(rows, per_row)), axis=1)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(ids[:, 0] % 7 - 3) / 2))).astype(int)
    text = "".join(f"{label} " + " ".join(f"{i}:1" for i in row) + "\n"
                   for label, row in zip(y.tolist(), ids.tolist()))   # test data only
    with open(path, "w") as out:
        written = 0
        while written < min_bytes:
            out.write(text)
            written += len(text)
    return os.path.getsize(path)


def run_child(*args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, CHILD, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("out_of_core")
    big, small = folder / "clicks.svm", folder / "warm_up.svm"
    size = write_libsvm(big, 3 * CAP)
    write_libsvm(small, 1, rows=3000, seed=1)   # two batches
    return big, small, size


def test_training_on_a_file_three_times_the_memory_cap_completes_within_the_cap(files):
    big, small, size = files
    assert size >= 3 * CAP
    result = run_child("stream", big, small, CAP)
    assert result["outcome"] == "completed"
    assert result["examples"] > 250_000                        # every row was trained on
    assert np.isfinite(result["train_logloss"]) and result["metrics"]["auc"] > 0.6
    assert result["peak_rss_growth"] <= CAP


def test_the_cap_is_enforced_holding_the_file_s_batches_fails(files):
    big, small, _ = files
    assert run_child("materialize", big, small, CAP)["outcome"] == "MemoryError"


def test_a_memmap_table_larger_than_the_cap_trains_where_memory_storage_cannot(tmp_path):
    cap = 32 * 2 ** 20           # the 64 MiB table and its 64 MiB accumulator exceed it
    mapped = run_child("table", "memmap", tmp_path, cap)
    assert mapped["outcome"] == "completed" and mapped["steps"] == 20
    assert mapped["table_bytes"] == 2 ** 20 * 16 * 4 > cap
    assert run_child("table", "memory", tmp_path, cap)["outcome"] == "MemoryError"
    assert os.listdir(tmp_path) == []                          # the scratch files are gone

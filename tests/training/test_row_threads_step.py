"""A step whose elementwise phases run in row ranges on two threads (`widedeep.row_threads`)
leaves exactly the parameters of the one-thread step: the same operations on the same
elements, each row written by one thread."""
import numpy as np
import pytest

from widedeep import DeepEstimator, SparseInput, WideDeepEstimator
from widedeep.estimators.batching import take_rows
from widedeep.optim.adam import Adam
from widedeep.optim.base import NonFiniteUpdateError
from widedeep.row_threads import RowThreads, row_threads


def data(n=300, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = {"user": SparseInput.from_ids(rng.integers(0, 40, n), field="user"),
         "item": SparseInput.from_ids(rng.integers(0, 25, n), field="item"),
         "tags": SparseInput.from_lists([list(rng.integers(0, 30, rng.integers(0, 4)))
                                         for _ in range(n)], field="tags"),
         "dense": rng.normal(size=(n, 3)).astype(dtype)}
    y = rng.integers(0, 2, n).astype(float)
    weights = rng.uniform(0.2, 2.0, n)
    return X, y, weights


def wide_deep(**options):
    return WideDeepEstimator(
        {"user": 40, "item": 25, "tags": 30}, vocabularies={"u": (40, 4), "i": (25, 4),
                                                            "t": (30, 4)},
        embedding_fields={"user": "u", "item": "i", "tags": "t"}, combiners="mean",
        dense_fields={"dense": 3}, hidden_units=(8, 4), batch_size=64, epochs=2,
        random_state=0, **options)


@pytest.fixture
def split_everything(monkeypatch):
    """The process's 2-thread pool splits every job (tiny models included), and counts
    the jobs it ran on both threads."""
    return split_and_count_jobs(monkeypatch.setattr)


def split_and_count_jobs(set_attribute):
    """Make the 2-thread pool split every job; returns the list of tasks per job run
    (``set_attribute``: ``monkeypatch.setattr``, or ``setattr`` in a child process)."""
    pool = row_threads(2)
    set_attribute(pool, "min_elements", 1)
    calls = []
    run = RowThreads.run

    def counting_run(self, tasks):
        tasks = list(tasks)
        calls.append(len(tasks))
        return run(self, tasks)
    set_attribute(RowThreads, "run", counting_run)
    return calls


def train(model, X, y, threads, weights=None):
    def batch(rows):
        return take_rows(X, rows), y[rows], None if weights is None else weights[rows]
    model.partial_fit(*batch(np.arange(64)))   # builds the step
    model.step_.threads = threads
    for start in range(64, len(y), 64):
        model.partial_fit(*batch(np.arange(start, min(start + 64, len(y)))))
    return model


def assert_same_state(a, b):
    a, b = a.get_state(), b.get_state()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [
    {}, {"dropout": 0.3, "embedding_l2": 1e-3, "dense_l2": 1e-3}, {"batch_norm": True}])
def test_two_row_threads_leave_the_parameters_of_one(split_everything, dtype, options):
    X, y, weights = data(dtype=dtype)
    one = train(wide_deep(dtype=dtype, **options), X, y, threads=1, weights=weights)
    assert split_everything == []
    two = train(wide_deep(dtype=dtype, **options), X, y, threads=2, weights=weights)
    assert split_everything and max(split_everything) == 2   # the ranges really ran apart
    assert_same_state(one, two)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_hot_fields_gathered_in_ranges_leave_the_same_parameters(split_everything,
                                                                     dtype):
    """Single-valued fields of one table take the one-gather path (split by examples)."""
    X, y, weights = data(seed=2, dtype=dtype)
    X = {k: X[k] for k in ("user", "item", "dense")}

    def model():
        return WideDeepEstimator({"user": 40, "item": 25}, vocabularies={"ids": (65, 4)},
                                 embedding_fields={"user": "ids", "item": "ids"},
                                 dense_fields={"dense": 3}, hidden_units=(8,), dropout=0.2,
                                 dtype=dtype, random_state=1)
    one = train(model(), X, y, threads=1, weights=weights)
    two = train(model(), X, y, threads=2, weights=weights)
    assert max(split_everything) == 2
    assert_same_state(one, two)


def test_row_threads_follow_the_estimators_n_threads(split_everything):
    X, y, _ = data(seed=3)
    one = train(wide_deep(n_threads=1), X, y, threads=None)
    assert split_everything == []
    two = train(wide_deep(n_threads=2), X, y, threads=None)
    assert max(split_everything) == 2
    assert_same_state(one, two)


def test_an_optimizer_with_a_step_counter_is_not_split(split_everything):
    """Adam's step counter belongs to the whole parameter: its updates are not split."""
    X, y, _ = data(seed=1)
    X = {k: X[k] for k in ("user", "item", "dense")}

    def deep():
        return DeepEstimator(vocabularies={"u": (40, 4), "i": (25, 4)},
                             embedding_fields={"user": "u", "item": "i"},
                             dense_fields={"dense": 3}, hidden_units=(8,), random_state=2,
                             deep_optimizer=Adam(lr=0.01))
    one = train(deep(), X, y, threads=1)
    two = train(deep(), X, y, threads=2)
    assert_same_state(one, two)


def test_a_split_step_that_would_overflow_writes_nothing(split_everything):
    X, y, _ = data(n=128)
    model = train(wide_deep(objective="regression"), X, y, threads=2)
    before = model.get_state(copy=True)
    huge = np.full(128, 3e38)     # squared gradients overflow float32 accumulators
    with pytest.raises(NonFiniteUpdateError, match="non-finite"):
        model.partial_fit(X, huge)
    assert_same_state_dicts(before, model.get_state())


def assert_same_state_dicts(a, b):
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def split_step_peaks():
    """tracemalloc's peaks of one-thread and split steps of one model, measured in this
    module run as a fresh process (no other thread but the row-threads pool's, so no
    other thread's allocations are counted): ``{"peaks": {1: [...], 2: [...]},
    "held": [workspace bytes before, after], "split": most tasks in one job}``."""
    import threading
    import tracemalloc
    if threading.active_count() != 1:
        raise RuntimeError(f"other threads are running: {threading.enumerate()}")
    calls = split_and_count_jobs(setattr)
    n = 512
    X, y, _ = data(n=n, seed=5)
    model = WideDeepEstimator(
        {"user": 40, "item": 25, "tags": 30}, vocabularies={"u": (40, 8), "i": (25, 8),
                                                            "t": (30, 8)},
        embedding_fields={"user": "u", "item": "i", "tags": "t"}, combiners="mean",
        dense_fields={"dense": 3}, hidden_units=(256, 128), random_state=0)
    model.partial_fit(X, y)
    for threads in (1, 2, 2):
        model.step_.threads = threads
        model.partial_fit(X, y)
    held = model.step_.workspace(n).nbytes
    peaks = {1: [], 2: []}
    tracemalloc.start()
    try:
        for threads in (1, 2, 1, 2):
            model.step_.threads = threads
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            model.partial_fit(X, y)
            peaks[threads].append(tracemalloc.get_traced_memory()[1] - start)
    finally:
        tracemalloc.stop()
    return {"peaks": peaks, "held": [held, model.step_.workspace(n).nbytes],
            "split": max(calls)}


def test_a_split_step_allocates_no_more_than_the_one_thread_step():
    """After the first steps of a size, the split phases write into the step's workspace
    (one buffer per range): the peak of temporary memory of a split step stays that of
    the one-thread step (within a few small Python objects), far below one activation,
    and the workspace stops growing. Measured in a child process: tracemalloc counts
    every thread's allocations (e.g. a Dask client's from another test)."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    code = ("import sys, json; sys.path.insert(0, sys.argv[1]); "
            "from test_row_threads_step import split_step_peaks as f; "
            "print(json.dumps(f()))")
    child = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.splitlines()[-1])
    peaks = {int(k): v for k, v in result["peaks"].items()}
    activation = 512 * 256 * 4
    assert max(peaks[2]) < min(peaks[1]) + activation / 16, peaks
    assert result["held"][0] == result["held"][1]
    assert result["split"] == 2


def test_a_model_trained_on_row_threads_can_be_copied_and_train_on():
    import copy
    import pickle
    X, y, _ = data(n=128)
    model = train(wide_deep(), X, y, threads=2)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        clone.partial_fit(X, y)
        model_copy = copy.deepcopy(model)
        model_copy.step_.threads = 1
        model_copy.partial_fit(X, y)
        assert_same_state(clone, model_copy)

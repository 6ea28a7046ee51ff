"""`RowThreads`: row ranges cover the rows once, run on two threads, errors reach the
caller, and split jobs give the bits of whole ones."""
import threading

import numpy as np
import pytest

from widedeep.row_threads import RowThreads, row_threads, split_rows
from widedeep.segments import COUNTING_MAX_IDS, sum_duplicates
from widedeep.workspace import Workspace, run_rows


def test_split_rows_cuts_contiguous_near_equal_ranges():
    assert split_rows(10, 3) == [0, 4, 7, 10]
    assert split_rows(2, 5) == [0, 1, 2]
    assert split_rows(0, 2) == [0, 0]


def test_run_rows_covers_every_row_once_on_two_threads():
    pool = RowThreads(2, min_elements=1)
    seen, names = np.zeros(101, dtype=int), set()

    def job(start, stop):
        seen[start:stop] += 1
        names.add(threading.current_thread().name)
    pool.run_rows(job, 101)
    assert seen.tolist() == [1] * 101
    assert len(names) == 2


def test_small_jobs_run_whole_on_the_caller():
    pool = RowThreads(2, min_elements=1000)
    calls = []
    pool.run_rows(lambda start, stop: calls.append((start, stop,
                                                    threading.current_thread().name)), 10)
    assert calls == [(0, 10, threading.current_thread().name)]


def test_an_error_on_the_helper_reaches_the_caller_after_both_ranges_ran():
    pool = RowThreads(2, min_elements=1)
    done = []

    def job(start, stop):
        done.append(start)
        if start > 0:
            raise KeyError("helper range failed")
    with pytest.raises(KeyError, match="helper range failed"):
        pool.run_rows(job, 10)
    assert sorted(done) == [0, 5]
    pool.run_rows(lambda start, stop: done.append(start), 10)   # still usable
    assert sorted(done[2:]) == [0, 5]


def test_a_busy_pool_runs_a_second_callers_job_on_that_caller():
    pool = RowThreads(2, min_elements=1)
    inner = []

    def outer(start, stop):
        if start == 0:   # the pool is busy with this very job
            pool.run_rows(lambda a, b: inner.append(threading.current_thread().name), 4)
    pool.run_rows(outer, 4)
    assert inner == [threading.current_thread().name] * 2   # both ranges, on the caller


def test_the_process_pool_is_shared_and_one_thread_means_none():
    assert row_threads(1) is None
    assert row_threads(2) is row_threads(2)


def test_run_rows_without_threads_is_one_call():
    calls = []
    run_rows(None, lambda start, stop: calls.append((start, stop)), 7)
    run_rows(Workspace(), lambda start, stop: calls.append((start, stop)), 5)
    assert calls == [(0, 7), (0, 5)]


@pytest.mark.parametrize("n_ids", [50, COUNTING_MAX_IDS * 10])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_duplicates_split_over_threads_gives_the_same_bits(n_ids, dtype):
    rng = np.random.default_rng(4)
    ids = rng.integers(0, n_ids, 5000)
    values = (rng.normal(size=(5000, 3)) * 10 ** rng.uniform(-6, 6, (5000, 1))).astype(dtype)
    whole_ids, whole = sum_duplicates(ids, values, n_ids=n_ids, workspace=Workspace())
    workspace = Workspace()
    workspace.threads = RowThreads(2, min_elements=1)
    split_ids, split = sum_duplicates(ids, values, n_ids=n_ids, workspace=workspace)
    np.testing.assert_array_equal(whole_ids, split_ids)
    np.testing.assert_array_equal(whole, split)
    assert whole.dtype == split.dtype == dtype

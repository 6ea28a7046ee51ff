"""Behaviour every optimizer shares, checked in one loop over all of them: the sparse and
dense update paths agree, duplicates are summed, untouched entries keep their bytes, bad
input changes nothing, and a sparse step allocates nothing the size of the table."""
import json
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from widedeep.optim import Adagrad, Adam, FtrlProximal


class AdagradCase:
    """Adagrad on an embedding-like table [size, 3]; a "coordinate" is a row."""
    row_shape = (3,)

    def make(self, size, dtype):
        opt = Adagrad(lr=0.1, initial_accumulator_value=0.1)
        param = np.random.default_rng(99).normal(size=(size,) + self.row_shape).astype(dtype)
        return opt, param, opt.init_state(param)

    def dense(self, opt, param, state, grad):
        opt.update(param, grad, state)

    def sparse(self, opt, param, state, indices, grads, assume_unique=False):
        opt.update_rows(param, indices, grads, state, assume_unique=assume_unique)

    def arrays(self, param, state):
        return {"param": param, "accumulator": state["accumulator"]}


class FtrlCase:
    """FTRL-Proximal on a weight vector [size]; a coordinate is one weight."""
    row_shape = ()

    def make(self, size, dtype):
        opt = FtrlProximal(alpha=0.2, beta=1.0, l1=0.05, l2=0.1, initial_accumulator_value=0.1)
        return opt, np.zeros(size, dtype=dtype), opt.init_state(size, dtype=dtype)

    def dense(self, opt, param, state, grad):
        opt.update(param, grad, state)

    def sparse(self, opt, param, state, indices, grads, assume_unique=False):
        opt.update_rows(param, indices, grads, state, assume_unique=assume_unique)

    def arrays(self, param, state):
        return {"weights": param, "z": state["z"], "n": state["n"]}


class AdamCase(AdagradCase):
    """Adam on an embedding-like table; its row-sparse update is lazy (rows not listed keep
    their moments), so "sparse = dense with zero gradient elsewhere" does not apply."""
    lazy = True

    def make(self, size, dtype):
        opt = Adam(lr=0.05, beta1=0.8, beta2=0.95)
        param = np.random.default_rng(99).normal(size=(size,) + self.row_shape).astype(dtype)
        return opt, param, opt.init_state(param)

    def arrays(self, param, state):
        return {"param": param, "m": state["m"], "v": state["v"]}


CASES = [AdagradCase(), FtrlCase(), AdamCase()]
IDS = ["adagrad", "ftrl", "adam"]
EAGER = [(case, name) for case, name in zip(CASES, IDS) if not getattr(case, "lazy", False)]


def snapshot(case, param, state):
    return {name: array.copy() for name, array in case.arrays(param, state).items()}


def assert_bit_identical(arrays, expected, where=None):
    for name, array in arrays.items():
        want = expected[name] if where is None else expected[name][where]
        got = array if where is None else array[where]
        assert got.dtype == want.dtype, name
        assert got.tobytes() == want.tobytes(), name


def random_grads(case, rng, k, dtype):
    return rng.normal(size=(k,) + case.row_shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sparse_update_of_every_index_equals_dense_update(case, dtype):
    rng = np.random.default_rng(0)
    size = 20
    opt, param_dense, state_dense = case.make(size, dtype)
    _, param_sparse, state_sparse = case.make(size, dtype)
    for _ in range(4):
        grad = random_grads(case, rng, size, dtype)
        case.dense(opt, param_dense, state_dense, grad)
        permutation = rng.permutation(size)
        case.sparse(opt, param_sparse, state_sparse, permutation, grad[permutation])
    assert_bit_identical(case.arrays(param_sparse, state_sparse),
                         case.arrays(param_dense, state_dense))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [c for c, _ in EAGER], ids=[n for _, n in EAGER])
def test_sparse_update_equals_dense_update_with_zero_gradient_elsewhere(case, dtype):
    rng = np.random.default_rng(1)
    size = 30
    opt, param_dense, state_dense = case.make(size, dtype)
    _, param_sparse, state_sparse = case.make(size, dtype)
    for _ in range(5):
        indices = rng.choice(size, size=6, replace=False)
        grads = random_grads(case, rng, 6, dtype)
        dense_grad = np.zeros((size,) + case.row_shape, dtype=dtype)
        dense_grad[indices] = grads
        case.dense(opt, param_dense, state_dense, dense_grad)
        case.sparse(opt, param_sparse, state_sparse, indices, grads)
    assert_bit_identical(case.arrays(param_sparse, state_sparse),
                         case.arrays(param_dense, state_dense))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_untouched_entries_keep_their_bytes(case):
    rng = np.random.default_rng(2)
    size = 40
    opt, param, state = case.make(size, np.float32)
    case.dense(opt, param, state, random_grads(case, rng, size, np.float32))
    before = snapshot(case, param, state)
    indices = np.array([3, 3, 29, 11])
    case.sparse(opt, param, state, indices, random_grads(case, rng, 4, np.float32))
    untouched = np.setdiff1d(np.arange(size), indices)
    assert_bit_identical(case.arrays(param, state), before, where=untouched)
    for name, array in case.arrays(param, state).items():
        assert np.all(array[[3, 11, 29]] != before[name][[3, 11, 29]]), name


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_duplicate_indices_equal_one_update_with_summed_gradients(case):
    rng = np.random.default_rng(3)
    size = 10
    opt, param_a, state_a = case.make(size, np.float64)
    _, param_b, state_b = case.make(size, np.float64)
    indices = np.array([2, 7, 2, 2, 5, 7])
    grads = random_grads(case, rng, 6, np.float64)
    case.sparse(opt, param_a, state_a, indices, grads)
    summed = np.stack([grads[[0, 2, 3]].sum(axis=0), grads[4], grads[[1, 5]].sum(axis=0)])
    case.sparse(opt, param_b, state_b, np.array([2, 5, 7]), summed)
    expected = case.arrays(param_b, state_b)
    for name, array in case.arrays(param_a, state_a).items():
        np.testing.assert_allclose(array, expected[name], rtol=1e-13, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_assume_unique_gives_the_same_result_for_distinct_indices(case):
    rng = np.random.default_rng(4)
    opt, param_a, state_a = case.make(15, np.float32)
    _, param_b, state_b = case.make(15, np.float32)
    indices = np.array([9, 0, 4, 12])
    grads = random_grads(case, rng, 4, np.float32)
    case.sparse(opt, param_a, state_a, indices, grads)
    case.sparse(opt, param_b, state_b, indices, grads, assume_unique=True)
    assert_bit_identical(case.arrays(param_a, state_a), case.arrays(param_b, state_b))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_and_float64_agree(case):
    rng = np.random.default_rng(5)
    opt, param32, state32 = case.make(25, np.float32)
    _, param64, state64 = case.make(25, np.float64)
    for _ in range(5):
        indices = rng.integers(0, 25, size=12)
        grads = random_grads(case, rng, 12, np.float64)
        case.sparse(opt, param32, state32, indices, grads.astype(np.float32))
        case.sparse(opt, param64, state64, indices, grads)
    expected = case.arrays(param64, state64)
    for name, array in case.arrays(param32, state32).items():
        assert array.dtype == np.float32
        np.testing.assert_allclose(array, expected[name], rtol=1e-4, atol=1e-5, err_msg=name)


def sparse_update_peak_bytes(case_id):
    """tracemalloc's peak over one 16-index update of a 2M-row table, measured in this
    module run as a fresh process, so that no other thread's allocations are counted."""
    size = 2_000_000
    case = CASES[IDS.index(case_id)]
    opt, param, state = case.make(size, np.float32)
    rng = np.random.default_rng(6)
    indices = rng.integers(0, size, size=16)
    grads = random_grads(case, rng, 16, np.float32)
    if threading.active_count() != 1:
        raise RuntimeError(f"other threads are running: {threading.enumerate()}")
    tracemalloc.start()
    try:
        case.sparse(opt, param, state, indices, grads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("case_id", IDS)
def test_sparse_update_does_not_allocate_table_sized_temporaries(case_id):
    # A table of 8 MB (FTRL) or 24 MB (Adagrad, Adam); a step on 16 indices must allocate
    # far less. tracemalloc counts every thread's allocations (a Dask client's, a reader's
    # read-ahead), so the update runs in a child process with no other thread.
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from test_optimizers_common import sparse_update_peak_bytes as peak; "
            "print(peak(sys.argv[2]))")
    child = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), case_id],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    peak = int(child.stdout.split()[-1])
    assert peak < 100_000, f"peak allocation {peak} bytes for a 16-index update"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_sparse_update_changes_nothing(case):
    opt, param, state = case.make(5, np.float32)
    before = snapshot(case, param, state)
    case.sparse(opt, param, state, np.array([], dtype=np.int64),
                np.zeros((0,) + case.row_shape, dtype=np.float32))
    assert_bit_identical(case.arrays(param, state), before)


@pytest.mark.parametrize("bad", ["nan", "inf", "negative", "too_large", "length"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_sparse_input_raises_value_error_and_changes_nothing(case, bad):
    rng = np.random.default_rng(7)
    opt, param, state = case.make(8, np.float64)
    case.sparse(opt, param, state, np.array([1, 2]), random_grads(case, rng, 2, np.float64))
    before = snapshot(case, param, state)
    indices = np.array([0, 3, 5])
    grads = random_grads(case, rng, 3, np.float64)
    if bad == "nan":
        grads[1] = np.nan
    elif bad == "inf":
        grads[2] = -np.inf
    elif bad == "negative":
        indices[1] = -1
    elif bad == "too_large":
        indices[2] = 8
    else:
        grads = grads[:2]
    with pytest.raises(ValueError):
        case.sparse(opt, param, state, indices, grads)
    assert_bit_identical(case.arrays(param, state), before)


@pytest.mark.parametrize("cls", [Adagrad, FtrlProximal, Adam])
def test_config_is_json_and_rebuilds_an_equal_optimizer(cls):
    opt = cls()
    config = opt.get_config()
    assert json.loads(json.dumps(config)) == config
    assert cls.from_config(config).get_config() == config
    assert repr(cls(**config)) == repr(opt)

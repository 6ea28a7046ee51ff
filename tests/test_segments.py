"""`sum_duplicates`: the counting path (small id spaces) and the sorting path give the same
bits (both add a row's duplicates in input order), both equal an independent float64
reference to rounding, and a workspace changes nothing."""
import numpy as np
import pytest

from widedeep import segments
from widedeep.segments import COUNTING_MAX_IDS, sum_duplicates
from widedeep.workspace import Workspace


def case(m, n_ids, width, dtype, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.zipf(1.3, m) % n_ids
    values = rng.standard_normal((m,) + width).astype(dtype)
    return ids.astype(np.int64), values


@pytest.mark.parametrize("m,n_ids", [(1, 3), (50, 3), (2304, 121), (5000, COUNTING_MAX_IDS)])
@pytest.mark.parametrize("width,dtype", [((), np.float64), ((8,), np.float32),
                                         ((2, 3), np.float64)])
def test_counting_path_equals_sorting_path_bit_for_bit(m, n_ids, width, dtype):
    ids, values = case(m, n_ids, width, dtype)
    counted = sum_duplicates(ids, values, n_ids=n_ids)              # counting path
    sorted_ = segments._group_by_sorting(ids, None, None, "k")      # sorting path, by hand
    order, unique_ids, starts = sorted_
    expected = np.add.reduceat(values[order], starts, axis=0)
    np.testing.assert_array_equal(counted[0], unique_ids)
    np.testing.assert_array_equal(counted[1], expected)
    np.testing.assert_array_equal(sum_duplicates(ids, values)[1], expected)   # no n_ids


@pytest.mark.parametrize("n_ids", [100, 10 ** 7])
def test_sums_equal_an_independent_float64_reference(n_ids):
    ids, values = case(4000, n_ids, (4,), np.float32)
    unique_ids, sums = sum_duplicates(ids, values, n_ids=n_ids, workspace=Workspace())
    np.testing.assert_array_equal(unique_ids, np.unique(ids))
    reference = {}
    for i, row in zip(ids.tolist(), values.astype(np.float64)):   # test-only loop
        reference[i] = reference.get(i, 0.0) + row
    np.testing.assert_allclose(sums, np.array([reference[i] for i in unique_ids.tolist()]),
                               rtol=1e-5, atol=1e-5)


def test_duplicates_are_added_in_input_order():
    # 1e8 + 1 - 1e8 in float32 depends on the order: input order gives 0 + ... exactly
    ids = np.array([7, 7, 7, 2])
    values = np.array([[1e8], [1.0], [-1e8], [5.0]], dtype=np.float32)
    for n_ids in (None, 8):
        unique_ids, sums = sum_duplicates(ids, values, n_ids=n_ids)
        expected = (np.float32(1e8) + np.float32(1.0)) + np.float32(-1e8)
        assert unique_ids.tolist() == [2, 7]
        assert sums[1, 0] == expected and sums[0, 0] == 5.0


def test_a_workspace_reused_for_other_sizes_gives_the_same_results():
    workspace = Workspace()
    for seed, m in enumerate([300, 1000, 20, 1000]):
        ids, values = case(m, 10 ** 6, (3,), np.float32, seed)
        expected = sum_duplicates(ids, values)
        got = sum_duplicates(ids, values, n_ids=10 ** 6, workspace=workspace)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_ids_too_large_for_position_keys_fall_back_to_a_stable_argsort():
    ids = np.array([2 ** 61, 5, 2 ** 61, 5])
    values = np.array([1.0, 2.0, 3.0, 4.0])
    unique_ids, sums = sum_duplicates(ids, values)
    assert unique_ids.tolist() == [5, 2 ** 61] and sums.tolist() == [6.0, 4.0]


@pytest.mark.parametrize("disjoint", [True, False])
def test_the_runs_hint_changes_nothing(disjoint):
    """Pieces sorted on their own first, then merged: the same grouping and bits, whether
    the pieces' id ranges are disjoint and in order (fields of their own vocabularies)
    or overlap (fields sharing one)."""
    rng = np.random.default_rng(3)
    n, n_fields, n_ids = 300, 5, 10 ** 6
    offsets = np.arange(n_fields) * (n_ids // n_fields) if disjoint else np.zeros(n_fields)
    by_field = (rng.zipf(1.3, (n, n_fields)) % 1000 + offsets).astype(np.int64)
    values = rng.standard_normal((n * n_fields, 4)).astype(np.float32)
    plain = sum_duplicates(by_field.reshape(-1), values, n_ids=n_ids)
    columns = sum_duplicates(by_field.reshape(-1), values, n_ids=n_ids, workspace=Workspace(),
                             runs=n_fields)
    field_major = by_field.T.reshape(-1)
    values_fm = values.reshape(n, n_fields, 4).transpose(1, 0, 2).reshape(-1, 4)
    pieces = sum_duplicates(field_major, values_fm, n_ids=n_ids,
                            runs=list(range(0, n * n_fields + 1, n)))
    expected = sum_duplicates(field_major, values_fm, n_ids=n_ids)
    for got, want in ((columns, plain), (pieces, expected)):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(plain[0], np.unique(by_field))

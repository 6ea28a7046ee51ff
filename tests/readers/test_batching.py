"""`rebatch` re-cuts any stream of piece sizes into exact batches, rows in order."""
import numpy as np
import pytest

from widedeep.readers import rebatch


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("batch_size", [1, 3, 7, 16])
@pytest.mark.parametrize("drop_last", [False, True])
def test_rebatch_matches_slicing_the_concatenated_stream(seed, batch_size, drop_last):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 3 * batch_size + 2, size=rng.integers(0, 9))
    total = int(sizes.sum())
    x = np.arange(total, dtype=np.float64)
    s = np.array([f"s{i}" for i in range(total)])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    pieces = [{"x": x[a:b], "s": s[a:b]} for a, b in zip(bounds[:-1], bounds[1:])]

    out = list(rebatch(iter(pieces), batch_size, drop_last=drop_last))

    # independent expectation: cut the whole row range at multiples of batch_size
    n_full, rest = divmod(total, batch_size)
    expected = [(k * batch_size, (k + 1) * batch_size) for k in range(n_full)]
    if rest and not drop_last:
        expected.append((n_full * batch_size, total))
    assert [len(b["x"]) for b in out] == [b - a for a, b in expected]
    for batch, (a, b) in zip(out, expected):
        assert batch["x"].tolist() == list(range(a, b))
        assert batch["s"].tolist() == [f"s{i}" for i in range(a, b)]


def test_batches_inside_one_large_piece_are_views_not_copies():
    x = np.arange(10.0)
    out = list(rebatch([{"x": x}], 4))
    assert [b["x"].tolist() for b in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(np.shares_memory(b["x"], x) for b in out)

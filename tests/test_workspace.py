"""`Workspace`: a key gives the same memory while the request fits, grows when it does not,
and respects its byte budget."""
import numpy as np

from widedeep.workspace import Workspace, empty


def test_a_key_returns_the_same_memory_for_requests_that_fit():
    ws = Workspace()
    a = ws.array("x", (4, 5), np.float32)
    b = ws.array("x", (3, 5), np.float32)
    assert np.shares_memory(a, b) and b.shape == (3, 5)
    c = ws.array("x", (10, 5), np.float32)     # grows
    assert c.shape == (10, 5) and not np.shares_memory(a, c)
    d = ws.array("x", (11, 5), np.float32)     # within the quarter of slack
    assert np.shares_memory(c, d)
    assert not np.shares_memory(ws.array("y", (4, 5), np.float32), d)


def test_a_budget_makes_oversized_requests_plain_arrays():
    ws = Workspace(max_bytes=1000)
    small = ws.array("s", 10, np.float64)
    big = ws.array("b", 1000, np.float64)
    assert ws.nbytes == small.nbytes
    assert not np.shares_memory(big, ws.array("b", 1000, np.float64))


def test_arange_and_empty():
    ws = Workspace()
    assert ws.arange(7).tolist() == list(range(7))
    assert ws.arange(3).tolist() == [0, 1, 2]
    assert empty(None, "k", (2, 3), np.int64).shape == (2, 3)
    assert empty(ws, "k", (2, 3), np.int64).dtype == np.int64

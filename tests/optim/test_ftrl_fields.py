"""FieldwiseFtrl: per-block settings, checked against FtrlProximal run block by block, and
bit-identical to FtrlProximal when every block has the same settings."""
import numpy as np
import pytest

from widedeep.optim import FtrlProximal
from widedeep.optim.ftrl_fields import FieldwiseFtrl

BLOCKS = ([0, 5, 12], [5, 7, 3])
SETTINGS = [FtrlProximal(alpha=0.3, beta=0.5, l1=0.01, l2=0.1),
            FtrlProximal(alpha=0.1, beta=1.0, l1=0.2, l2=0.0, initial_accumulator_value=0.1),
            FtrlProximal(alpha=1.0, beta=0.01, l1=0.0, l2=1.0)]


@pytest.mark.parametrize("trailing", [(), (3,)], ids=["binary", "multiclass"])
def test_each_block_follows_its_own_ftrl(trailing):
    rng = np.random.default_rng(0)
    opt = FieldwiseFtrl(*BLOCKS, SETTINGS)
    w = np.zeros((15,) + trailing)
    state = opt.init_state(w)
    reference = [(np.zeros((size,) + trailing), s.init_state(np.zeros((size,) + trailing)))
                 for size, s in zip(BLOCKS[1], SETTINGS)]
    for _ in range(4):
        rows = np.sort(rng.choice(15, size=8, replace=False))
        grads = rng.normal(size=(8,) + trailing)
        opt.update_rows(w, rows, grads, state)
        for (start, size), s, (w_ref, st_ref) in zip(zip(*BLOCKS), SETTINGS, reference):
            inside = (rows >= start) & (rows < start + size)
            s.update_rows(w_ref, rows[inside] - start, grads[inside], st_ref)
    for (start, size), (w_ref, st_ref) in zip(zip(*BLOCKS), reference):
        np.testing.assert_allclose(w[start:start + size], w_ref, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state["z"][start:start + size], st_ref["z"], rtol=1e-12)
        np.testing.assert_allclose(state["n"][start:start + size], st_ref["n"], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identical_blocks_equal_plain_ftrl_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    plain = FtrlProximal(alpha=0.2, beta=0.3, l1=0.05, l2=0.1)
    fieldwise = FieldwiseFtrl(*BLOCKS, [plain] * 3)
    w_a, w_b = np.zeros(15, dtype=dtype), np.zeros(15, dtype=dtype)
    s_a, s_b = plain.init_state(w_a), fieldwise.init_state(w_b)
    for _ in range(5):
        rows = rng.integers(0, 15, size=10)
        grads = rng.normal(size=10).astype(dtype)
        plain.update_rows(w_a, rows, grads, s_a)
        fieldwise.update_rows(w_b, rows, grads, s_b)
    assert w_a.tobytes() == w_b.tobytes()
    assert s_a["z"].tobytes() == s_b["z"].tobytes() and s_a["n"].tobytes() == s_b["n"].tobytes()


def test_initial_accumulators_and_closed_form_weights_per_block():
    opt = FieldwiseFtrl(*BLOCKS, SETTINGS)
    state = opt.init_state(np.zeros(15))
    assert state["n"].tolist() == [0.0] * 5 + [0.1] * 7 + [0.0] * 3
    z = np.full(15, 0.5)
    n = np.full(15, 4.0)
    expected = np.concatenate([s.weights(z[:k], n[:k]) for s, k in zip(SETTINGS, BLOCKS[1])])
    np.testing.assert_allclose(opt.weights(z, n), expected, rtol=1e-15)


def test_scaled_scales_every_blocks_alpha():
    scaled = FieldwiseFtrl(*BLOCKS, SETTINGS).scaled(0.5)
    assert scaled.hyper["alpha"].tolist() == [0.15, 0.05, 0.5]
    assert scaled.alpha == 0.15


def test_blocks_must_cover_the_array_in_order():
    with pytest.raises(ValueError, match="consecutive"):
        FieldwiseFtrl([0, 6, 12], [5, 7, 3], SETTINGS)

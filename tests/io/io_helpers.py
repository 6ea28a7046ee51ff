"""Small synthetic data and model factories shared by the persistence tests (tests/io)."""
import numpy as np
from widedeep import Adagrad, DeepEstimator, FtrlProximal, SparseInput, WideDeepEstimator, \
    WideEstimator

N_A, N_B = 20, 30


def synthetic(n=240, seed=0):
    """Two sparse fields (``b`` multi-valued), one 3-wide dense field, 0/1 labels."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, N_A, n)
    b_lists = [rng.integers(0, N_B, rng.integers(1, 4)).tolist() for _ in range(n)]
    dense = rng.standard_normal((n, 3)).astype(np.float32)
    X = {"a": SparseInput.from_ids(a, vocab_size=N_A),
         "b": SparseInput.from_lists(b_lists, vocab_size=N_B),
         "num": dense}
    logit = np.where(a % 3 == 0, 1.5, -1.0) + dense[:, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return X, y


def make_model(kind="wide_deep", **overrides):
    deep = dict(vocabularies={"va": (N_A, 4), "vb": (N_B, 4)},
                embedding_fields={"a": "va", "b": "vb"}, dense_fields={"num": 3},
                hidden_units=(8, 4), adagrad=Adagrad(lr=0.1), dropout=0.0, embedding_l2=0.0)
    wide = dict(ftrl=FtrlProximal(alpha=0.2, l1=0.01, l2=0.01))
    # fixed epochs: these tests compare runs, early stopping would only add a hold-out
    loop = dict(batch_size=32, epochs=2, random_state=7, early_stopping=False)
    if kind == "wide":
        params = {**wide, **loop, **overrides}
        return WideEstimator({"a": N_A, "b": N_B}, **params)
    if kind == "deep":
        return DeepEstimator(**{**deep, **loop, **overrides})
    return WideDeepEstimator({"a": N_A, "b": N_B}, **{**deep, **wide, **loop, **overrides})


def assert_same_state(left, right):
    """Every learned array bit-identical (same keys, dtypes and values)."""
    a, b = left.get_state(), right.get_state()
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key]), key

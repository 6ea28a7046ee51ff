"""Batches and models for the row-shard step tests: a shared vocabulary read by a
single-valued and a multi-valued field, a dense field, a wide cross, sample weights."""
import numpy as np

from widedeep import DeepEstimator, SparseInput, WideDeepEstimator, WideEstimator

N_ITEMS, N_USERS = 40, 30


def shard_batch(n, seed):
    """``(features, y, sample_weight)`` of ``n`` rows."""
    rng = np.random.default_rng(seed)
    user = rng.integers(0, N_USERS, n)
    item = rng.integers(0, N_ITEMS, n)
    history = [rng.integers(0, N_ITEMS, rng.integers(0, 4)).tolist() for _ in range(n)]
    features = {
        "user": SparseInput.from_ids(user, field="user"),
        "item": SparseInput.from_ids(item, field="item"),
        "history": SparseInput.from_lists(history, field="history", vocab_size=N_ITEMS),
        "user_x_item": SparseInput.from_ids((user * N_ITEMS + item) % 500, field="user_x_item"),
        "context": rng.standard_normal((n, 3)),
    }
    y = (rng.random(n) < 1 / (1 + np.exp(-(user % 3 - item % 2 - 0.5)))).astype(np.float64)
    sample_weight = rng.uniform(0.0, 2.0, n)
    return features, y, sample_weight


def shard_models(random_state=0, dropout=0.3, **extra):
    """One estimator of each kind, float64, with L2 and dropout where they apply."""
    deep = dict(vocabularies={"item": (N_ITEMS, 4), "user": (N_USERS, 3)},
                embedding_fields={"user": "user", "item": "item", "history": "item"},
                combiners={"history": "mean"}, dense_fields={"context": 3},
                hidden_units=(8, 5), dropout=dropout, embedding_l2=0.05, dense_l2=0.02)
    wide_fields = {"user": N_USERS, "item": N_ITEMS, "user_x_item": 500}
    common = dict(dtype=np.float64, random_state=random_state, **extra)
    return {"wide": WideEstimator(wide_fields, **common),
            "deep": DeepEstimator(**deep, **common),
            "wide_deep": WideDeepEstimator(wide_fields, **deep, **common)}

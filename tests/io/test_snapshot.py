"""An in-memory snapshot rebuilds an equal estimator that keeps training identically
(deepcopy would not: it cuts the views that tie tables to their storage blocks)."""
import numpy as np

from widedeep import SparseInput, WideDeepEstimator
from widedeep.io import estimator_from_snapshot, estimator_snapshot


def batch(seed, n=40):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 12, n)
    features = {"item": SparseInput.from_ids(ids, vocab_size=12),
                "ctx": rng.standard_normal((n, 2))}
    return features, (rng.random(n) < 0.4).astype(float)


def test_a_snapshot_copy_trains_exactly_like_the_original():
    model = WideDeepEstimator({"item": 12}, vocabularies={"item": (12, 3)},
                              embedding_fields={"item": "item"}, dense_fields={"ctx": 2},
                              hidden_units=(4,), dropout=0.25, dtype=np.float64,
                              random_state=1)
    model.partial_fit(*batch(0))
    twin = estimator_from_snapshot(estimator_snapshot(model))
    for seed in (1, 2):
        model.partial_fit(*batch(seed))
        twin.partial_fit(*batch(seed))
    ours, theirs = model.get_state(), twin.get_state()
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    assert twin.get_training_state() == model.get_training_state()

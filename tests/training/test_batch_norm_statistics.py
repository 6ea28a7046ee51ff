"""Batch-norm running statistics in the three-phase step: computed per part, pooled exactly
by `combine`, written only by `apply`."""
import numpy as np

from widedeep import DeepEstimator, SparseInput
from widedeep.training.gradients import pool_statistics


def model_and_batch(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = {"item": SparseInput.from_ids(rng.integers(0, 30, n), vocab_size=30),
         "num": rng.normal(size=(n, 3)).astype(np.float64)}
    y = (rng.random(n) < 0.4).astype(np.float64)
    model = DeepEstimator(vocabularies={"item": (30, 4)}, embedding_fields={"item": "item"},
                          dense_fields={"num": 3}, hidden_units=(6,), batch_norm=True,
                          dropout=0.0, dtype=np.float64, random_state=0)
    model._initialize()
    return model, X, y


def take(X, rows):
    return {k: (v.take(rows) if isinstance(v, SparseInput) else v[rows]) for k, v in X.items()}


def test_pooled_statistics_of_two_parts_equal_those_of_the_whole():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=(50, 4))
    parts = [{1: (20, x[:20].mean(0), x[:20].var(0))}, {1: (30, x[20:].mean(0), x[20:].var(0))}]
    n, mean, var = pool_statistics(parts)[1]
    assert n == 50
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(0), rtol=1e-12)


def test_compute_writes_nothing_and_apply_updates_the_running_statistics_once():
    model, X, y = model_and_batch()
    bn = model.deep_.layers[1]
    before = {k: v.copy() for k, v in bn.statistics.items()}
    # the pre-activation of the batch, by hand: x W (no bias with batch norm)
    emb = model.deep_.params["embedding/item"][X["item"].feature_ids]
    h = np.concatenate([X["num"], emb], axis=1) @ model.deep_.layers[0].params["W"]
    gradient = model.step_.compute(X, y)
    for key, value in bn.statistics.items():
        np.testing.assert_array_equal(value, before[key])
    model.step_.apply(model.step_.combine([gradient]))
    keep = bn.momentum
    np.testing.assert_allclose(bn.statistics["running_mean"],
                               keep * before["running_mean"] + (1 - keep) * h.mean(0),
                               rtol=1e-10)
    np.testing.assert_allclose(bn.statistics["running_var"],
                               keep * before["running_var"] + (1 - keep) * h.var(0, ddof=1),
                               rtol=1e-10)


def test_a_batch_computed_in_two_shards_updates_the_statistics_like_the_whole_batch():
    whole, X, y = model_and_batch()
    sharded, _, _ = model_and_batch()
    whole.step_.apply(whole.step_.combine([whole.step_.compute(X, y)]))
    halves = [np.arange(0, 24), np.arange(24, 64)]
    parts = [sharded.step_.compute(take(X, rows), y[rows], n_total=64) for rows in halves]
    sharded.step_.apply(sharded.step_.combine(parts))
    for key in ("running_mean", "running_var"):
        np.testing.assert_allclose(sharded.deep_.layers[1].statistics[key],
                                   whole.deep_.layers[1].statistics[key], rtol=1e-10)

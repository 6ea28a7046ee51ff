"""Combining the gradient objects of a batch's shards equals the whole batch's gradient
(float64, 1e-12): dropout masks drawn for the whole batch and cut per shard, L2 added once,
shared vocabularies, empty shards."""
import numpy as np
import pytest

from step_reference import batch, make
from widedeep.estimators.batching import take_rows

KINDS = ["wide", "deep", "wide_deep"]


def fitted(kind, objective="binary", dropout=0.0):
    model = make(kind, objective, **({} if kind == "wide" else {"dropout": dropout}))
    features, y, sw = batch(0, objective=objective)
    model.partial_fit(features, y, sw)
    return model


def compute_whole_and_shards(model, features, y, sw, shards):
    step = model.step_
    n = y.shape[0]
    masks = step.deep.draw_dropout_masks(n, np.random.default_rng(5)) if step.deep else None
    whole = step.combine([step.compute(features, y, sw, dropout_masks=masks)])
    parts = []
    for rows in shards:
        shard_masks = None if masks is None else [m[rows] for m in masks]
        parts.append(step.compute(take_rows(features, rows), y[rows], sw[rows], n_total=n,
                                  dropout_masks=shard_masks))
    return whole, step.combine(parts)


def assert_gradients_equal(a, b, order=None):
    """``a`` the combined shards (predictions in shard order ``order``), ``b`` the whole."""
    assert a.n_examples == b.n_examples
    assert a.loss == pytest.approx(b.loss, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(a.predictions, b.predictions if order is None
                               else b.predictions[order], rtol=1e-12, atol=1e-15)
    assert (a.wide is None) == (b.wide is None)
    if a.wide is not None:
        np.testing.assert_array_equal(a.wide[0], b.wide[0])
        np.testing.assert_allclose(a.wide[1], b.wide[1], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(a.wide[2], b.wide[2], rtol=1e-12, atol=1e-15)
    assert len(a.embeddings) == len(b.embeddings)
    for x, z in zip(a.embeddings, b.embeddings):
        np.testing.assert_array_equal(x.rows, z.rows)
        np.testing.assert_allclose(x.values, z.values, rtol=1e-12, atol=1e-15)
    assert set(a.dense) == set(b.dense)
    for name in a.dense:
        np.testing.assert_allclose(a.dense[name], b.dense[name], rtol=1e-12, atol=1e-15,
                                   err_msg=name)


SPLITS = {
    "halves": lambda n: [np.arange(0, n // 2), np.arange(n // 2, n)],
    "interleaved": lambda n: [np.arange(0, n, 2), np.arange(1, n, 2)],
    "with_empty_shard": lambda n: [np.arange(0, 3), np.arange(0), np.arange(3, n)],
}


@pytest.mark.parametrize("objective", ["binary", "regression", "multiclass"])
@pytest.mark.parametrize("split", sorted(SPLITS))
@pytest.mark.parametrize("kind", KINDS)
def test_combined_shards_equal_the_whole_batch(kind, split, objective):
    model = fitted(kind, objective, dropout=0.4)
    features, y, sw = batch(3, n=11, objective=objective)
    shards = SPLITS[split](11)
    whole, combined = compute_whole_and_shards(model, features, y, sw, shards)
    assert_gradients_equal(combined, whole, order=np.concatenate(shards))


def test_regularizers_are_added_once():
    model = fitted("deep", dropout=0.0)
    features, y, sw = batch(3, n=10)
    _, combined = compute_whole_and_shards(model, features, y, sw, SPLITS["halves"](10))
    step = model.step_
    raw = [step.compute(take_rows(features, r), y[r], sw[r], n_total=10)
           for r in SPLITS["halves"](10)]
    W = model.deep_.params["layer0/W"]
    data_term = raw[0].dense["layer0/W"] + raw[1].dense["layer0/W"]
    # dense_l2 W once (not twice), and lazy L2 on the union of the shards' embedding rows
    np.testing.assert_allclose(combined.dense["layer0/W"], data_term + 0.02 * W, rtol=1e-12)
    table = model.deep_.embeddings.groups[0].table
    rows = combined.embeddings[0].rows
    summed = np.zeros_like(table)
    for part in raw:
        np.add.at(summed, part.embeddings[0].rows, part.embeddings[0].values)
    np.testing.assert_allclose(combined.embeddings[0].values,
                               summed[rows] + 0.03 * table[rows], rtol=1e-12, atol=1e-15)


def test_applying_the_combined_shards_equals_a_whole_batch_step():
    features, y, sw = batch(4, n=9)
    a, b = fitted("wide_deep", dropout=0.3), fitted("wide_deep", dropout=0.3)
    whole, _ = compute_whole_and_shards(a, features, y, sw, [np.arange(9)])
    _, combined = compute_whole_and_shards(b, features, y, sw, SPLITS["interleaved"](9))
    a.step_.apply(whole)
    b.step_.apply(combined)
    for key, value in a.get_state().items():
        np.testing.assert_allclose(b.get_state()[key], value, rtol=1e-12, atol=1e-15,
                                   err_msg=key)


def test_drawn_masks_equal_the_masks_a_training_forward_draws():
    """A step with masks drawn ahead from a generator equals `train_batch` drawing them."""
    features, y, sw = batch(4, n=9)
    a, b = fitted("deep", dropout=0.5), fitted("deep", dropout=0.5)
    a.step_.train_batch(features, y, sw, rng=np.random.default_rng(8))
    masks = b.step_.deep.draw_dropout_masks(9, np.random.default_rng(8))
    b.step_.apply(b.step_.combine([b.step_.compute(features, y, sw, dropout_masks=masks)]))
    for key, value in a.get_state().items():
        np.testing.assert_array_equal(b.get_state()[key], value, err_msg=key)

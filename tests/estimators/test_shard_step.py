"""A step computed on row shards, combined and applied equals `partial_fit` on the whole
batch (float64), with dropout, L2, shared vocabularies, sample weights and empty shards."""
import numpy as np
import pytest

from widedeep.estimators.batching import slice_rows
from widedeep.io import estimator_from_snapshot, estimator_snapshot
from widedeep.estimators.shard_step import (apply_step_gradients, combine_shard_gradients,
                                            compute_shard_gradients)
from shard_world import shard_batch, shard_models

CUTS = {"one shard": [0, 60], "uneven": [0, 7, 41, 60], "empty shards": [0, 0, 25, 25, 60]}


def step_on_shards(model, features, y, sample_weight, cuts):
    n = y.shape[0]
    shards = []
    for start, stop in zip(cuts[:-1], cuts[1:]):
        part = slice_rows(features, start, stop)
        shards.append(compute_shard_gradients(model, part, y[start:stop],
                                              sample_weight[start:stop], n,
                                              np.arange(start, stop)))
    apply_step_gradients(model, combine_shard_gradients(shards))


def assert_same_state(a, b, tol=1e-12):
    state_a, state_b = a.get_state(), b.get_state()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_allclose(state_a[key], state_b[key], rtol=0, atol=tol, err_msg=key)


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
@pytest.mark.parametrize("cuts", list(CUTS.values()), ids=list(CUTS))
def test_shard_steps_equal_whole_batch_steps(kind, cuts):
    reference = shard_models()[kind]
    reference.partial_fit(*shard_batch(60, seed=0))   # initialize: the same start for both
    model = estimator_from_snapshot(estimator_snapshot(reference))
    for step in range(1, 4):
        features, y, sample_weight = shard_batch(60, seed=step)
        reference.partial_fit(features, y, sample_weight)
        step_on_shards(model, features, y, sample_weight, cuts)
    assert_same_state(model, reference)
    assert model.steps_trained_ == reference.steps_trained_
    assert model._dropout_rng.bit_generator.state == reference._dropout_rng.bit_generator.state


def test_shards_carry_the_data_gradient_and_the_penalty_is_added_once():
    model = shard_models(dropout=0.0)["deep"]
    model.partial_fit(*shard_batch(60, seed=0))
    features, y, sample_weight = shard_batch(60, seed=1)
    combined = combine_shard_gradients(
        compute_shard_gradients(model, slice_rows(features, a, b), y[a:b], sample_weight[a:b],
                                60, np.arange(a, b)) for a, b in ((0, 30), (30, 60)))
    logits, cache = model.deep_.forward(features, training=True, rng=None)
    p = 1 / (1 + np.exp(-logits))
    whole = model.deep_.backward(sample_weight * (p - y) / 60, cache, grouped_embeddings=True)
    W = model.deep_.params["layer0/W"]
    np.testing.assert_allclose(combined.deep["layer0/W"] + 0.02 * W, whole["layer0/W"],
                               rtol=0, atol=1e-13)
    rows = whole["embedding_group/0"].rows
    table = model.deep_.embeddings.groups[0].table
    np.testing.assert_array_equal(combined.deep["embedding_group/0"].rows, rows)
    np.testing.assert_allclose(combined.deep["embedding_group/0"].values + 0.05 * table[rows],
                               whole["embedding_group/0"].values, rtol=0, atol=1e-13)


def test_combined_loss_is_the_weighted_batch_logloss():
    model = shard_models()["wide_deep"]
    features, y, sample_weight = shard_batch(50, seed=4)
    model.partial_fit(features, y, sample_weight)
    parts = [compute_shard_gradients(model, slice_rows(features, a, b), y[a:b],
                                     sample_weight[a:b], 50, np.arange(a, b))
             for a, b in ((0, 20), (20, 50))]
    combined = combine_shard_gradients(parts)
    assert combined.n_rows == 50
    assert combined.weight_sum == pytest.approx(sample_weight.sum(), rel=1e-12)
    assert combined.loss_sum > 0


def test_a_bad_label_in_a_shard_raises_naming_the_row_and_changes_nothing():
    model = shard_models()["wide_deep"]
    model.partial_fit(*shard_batch(20, seed=0))
    before = {k: v.copy() for k, v in model.get_state().items()}
    features, y, sample_weight = shard_batch(20, seed=1)
    y[3] = 2.0
    with pytest.raises(ValueError, match="row 3"):
        compute_shard_gradients(model, features, y, sample_weight, 40, np.arange(20))
    for key, value in model.get_state().items():
        np.testing.assert_array_equal(value, before[key])

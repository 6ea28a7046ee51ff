"""State deltas of local training (widedeep.training.deltas), checked in one process:
the merge sums sparse changes by id and averages dense values (arithmetic by hand); a
tracker's delta is the state difference; applying a merge writes S0 + sum."""
import numpy as np
import pytest

from widedeep import SparseInput, WideDeepEstimator
from widedeep.io.snapshot import estimator_from_snapshot, estimator_snapshot
from widedeep.training.deltas import DeltaTracker, StateDelta, merge_deltas


def test_merge_sums_sparse_changes_by_id_and_sums_dense_values_for_the_mean():
    a = StateDelta(wide=(np.array([1, 4]), {"z": np.array([0.5, -1.0]),
                                            "n": np.array([0.25, 1.0])}),
                   bias={"z": np.array([0.1]), "n": np.array([0.01])},
                   embeddings=[(np.array([0]), {"table": np.array([[1.0, 2.0]])}), None],
                   dense={"param/layer0/W": np.array([2.0, 4.0])})
    b = StateDelta(wide=(np.array([4, 7]), {"z": np.array([3.0, 2.0]),
                                            "n": np.array([9.0, 4.0])}),
                   bias={"z": np.array([-0.3]), "n": np.array([0.09])},
                   embeddings=[None, (np.array([3]), {"table": np.array([[5.0]])})],
                   dense={"param/layer0/W": np.array([4.0, 0.0])})
    merged = merge_deltas([a, b])
    assert merged.wide[0].tolist() == [1, 4, 7]
    assert merged.wide[1]["z"].tolist() == [0.5, 2.0, 2.0]      # id 4: -1 + 3
    assert merged.wide[1]["n"].tolist() == [0.25, 10.0, 4.0]
    np.testing.assert_allclose(merged.bias["z"], [-0.2])
    assert merged.embeddings[0][0].tolist() == [0] and merged.embeddings[1][0].tolist() == [3]
    assert merged.replicas == 2
    assert (merged.dense["param/layer0/W"] / merged.replicas).tolist() == [3.0, 2.0]


def tiny_model():
    return WideDeepEstimator({"a": 6}, vocabularies={"a": (6, 2)}, embedding_fields={"a": "a"},
                             hidden_units=(3,), dropout=0.0, dtype=np.float64,
                             random_state=1, embedding_l2=0.1)


def batch(ids, labels):
    return {"a": SparseInput.from_ids(np.array(ids), vocab_size=6)}, np.array(labels, float)


def test_tracker_delta_is_the_state_change_and_apply_merged_writes_start_plus_sum():
    model = tiny_model()
    model.initialize()
    start = model.get_state(copy=True)
    twin = estimator_from_snapshot(estimator_snapshot(model))
    tracker = DeltaTracker(model.step_)
    for ids, labels in (([0, 2, 2], [1, 0, 1]), ([2, 5], [0, 1])):
        features, y = batch(ids, labels)
        combined = model.step_.combine([model.step_.compute(features, y)])
        tracker.record(combined)
        model.step_.apply(combined)
    delta = tracker.delta()
    after = model.get_state(copy=True)
    assert delta.wide[0].tolist() == [0, 2, 5]                    # the coordinates touched
    np.testing.assert_allclose(delta.wide[1]["z"], after["wide/a/z"][[0, 2, 5]]
                               - start["wide/a/z"][[0, 2, 5]])
    rows, changes = delta.embeddings[0]
    assert rows.tolist() == [0, 2, 5]
    np.testing.assert_allclose(changes["table"], after["deep/embedding/a"][rows]
                               - start["deep/embedding/a"][rows])
    # merging the delta with itself: sparse state moves twice as far, dense stays the mean
    tracker.apply_merged(merge_deltas([delta, delta]))
    state = model.get_state()
    np.testing.assert_allclose(state["wide/a/n"], 2 * after["wide/a/n"] - start["wide/a/n"])
    np.testing.assert_allclose(state["deep/embedding/a"],
                               2 * after["deep/embedding/a"] - start["deep/embedding/a"])
    np.testing.assert_allclose(state["deep/layer0/W"], after["deep/layer0/W"])
    ftrl = model.wide_.field_ftrl("a")
    np.testing.assert_allclose(state["wide/a/w"], ftrl.weights(state["wide/a/z"],
                                                               state["wide/a/n"]))
    assert np.all(state["wide/a/w"][[1, 3, 4]] == twin.get_state()["wide/a/w"][[1, 3, 4]])


def test_tracker_refuses_a_step_counting_optimizer():
    from widedeep.optim import Adam
    model = WideDeepEstimator({"a": 6}, vocabularies={"a": (6, 2)},
                              embedding_fields={"a": "a"}, deep_optimizer=Adam(),
                              random_state=0)
    model.initialize()
    with pytest.raises(ValueError, match="use AdaGrad"):
        DeltaTracker(model.step_)


def test_rollback_puts_every_array_back_at_the_round_start_exactly():
    model = tiny_model()
    model.partial_fit(*batch([1, 2, 3], [1, 0, 1]))       # a state that is not the init
    tracker = DeltaTracker(model.step_)
    start = model.get_state(copy=True)
    for ids, labels in (([0, 2, 2], [1, 0, 1]), ([2, 5], [0, 1])):
        features, y = batch(ids, labels)
        combined = model.step_.combine([model.step_.compute(features, y)])
        tracker.record(combined)
        model.step_.apply(combined)
    moved = model.get_state(copy=True)
    assert np.any(moved["wide/a/w"] != start["wide/a/w"])
    assert np.any(moved["deep/layer0/W"] != start["deep/layer0/W"])
    tracker.rollback()
    state = model.get_state()
    assert state.keys() == start.keys()
    for key, value in start.items():                     # bit for bit, w included
        np.testing.assert_array_equal(state[key], value, err_msg=key)
    # and the tracker starts a new round there: a further step's delta is relative to it
    features, y = batch([4], [1])
    combined = model.step_.combine([model.step_.compute(features, y)])
    tracker.record(combined)
    model.step_.apply(combined)
    assert tracker.delta().wide[0].tolist() == [4]

"""A `ShardReplica` outside Dask: steps in its renumbered window leave exactly the full
model's rows and dense state, and its layout names the full model's ids
(`widedeep.training.sharding.batch_ids`)."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask.shard_replica import ShardReplica  # noqa: E402
from widedeep.dask.shard_window import SparseLayout, full_config, replicated_keys  # noqa: E402
from widedeep.training import sharding  # noqa: E402
from dask_world import labeled_batch, models  # noqa: E402

NO_GUARDS = {"blas_threads": None, "malloc_trim_threshold": None}


def replica_of(model, rank=0, n_shards=1):
    state = model.get_state()
    shared = {"config": full_config(model), "layout": SparseLayout(model),
              "state": {key: state[key].copy() for key in replicated_keys(model)},
              "training_state": model.get_training_state(), "peer_timeout": 10.0}
    return ShardReplica(shared, sharding.owned_rows(model.step_, rank, n_shards), rank,
                        n_shards, NO_GUARDS)


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
def test_the_layout_names_the_ids_the_full_model_reads(kind):
    model = models()[kind]().initialize()
    features = labeled_batch(25, seed=3)[0]
    expected = sharding.batch_ids(model.step_, features)
    found = SparseLayout(model).batch_ids(features)
    assert found.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(found[name], expected[name])


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
def test_a_one_shard_replica_steps_exactly_like_the_full_model(kind):
    model = models()[kind]().initialize()
    replica = replica_of(model)
    batches = [labeled_batch(n, seed=20 + n) for n in (30, 7, 18)]
    replica.start([batches], epoch=0)
    rng = np.random.default_rng()
    rng.bit_generator.state = model.get_training_state()["dropout_rng"]
    for features, y, weight in batches:
        n = y.shape[0]
        dense_part, dropout_state, _, _, traffic = replica.compute(0, n)
        assert traffic == {"sent": 0, "received": 0}   # one shard: no peers
        masks = [] if model.step_.deep is None else \
            model.step_.deep.draw_dropout_masks(n, rng)   # as a data-parallel step does
        y_checked, weight_checked = model.check_batch(features, y, weight)
        expected = model.step_.compute(features, y_checked, weight_checked,
                                       dropout_masks=masks)
        assert rng.bit_generator.state == dropout_state
        assert dense_part.loss == expected.loss
        for name, value in expected.dense.items():
            np.testing.assert_array_equal(dense_part.dense[name], value)
        replica.apply(dense_part, dropout_state)   # its own slice was kept at compute
        model.step_.apply(model.step_.combine([expected]))
    # bit-identical: the store is the full model's sparse state, the window its
    # replicated state
    for name, arrays in sharding.sparse_state(model.step_).items():
        for key, array in arrays.items():
            np.testing.assert_array_equal(replica.store[name][key], array)
    state, window = model.get_state(), replica.snapshot()["state"]
    for key, value in window.items():
        np.testing.assert_array_equal(value, state[key])
    assert replica.caps != {name: 1 for name in replica.caps}   # the window grew


def test_a_replica_stores_only_the_rows_it_owns():
    model = models()["wide_deep"]().initialize()
    replica = replica_of(model, rank=1, n_shards=3)
    for name, arrays in sharding.sparse_state(model.step_).items():
        for key, array in arrays.items():
            np.testing.assert_array_equal(replica.store[name][key], array[1::3])

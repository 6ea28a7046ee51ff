"""shard_state=True: worker r owns the rows with id % W == r; the trained model equals
replicated sync mode and the one-process run on the same global batches (float64)."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer, global_batches  # noqa: E402
from dask_world import max_state_difference, models, partitions  # noqa: E402

SIZES = [[17, 9, 30], [], [5, 0, 12, 8], [22], [3, 3]]


@pytest.mark.parametrize("kind,n_workers", [("wide_deep", 2), ("wide_deep", 3),
                                            ("wide", 3), ("deep", 2)])
def test_sharded_state_trains_the_replicated_sync_model(client, kind, n_workers):
    sources = partitions(SIZES, seed=8)
    held_out = partitions([[40], [25]], seed=9)
    replicated = DaskTrainer(models()[kind](), client, n_workers=n_workers).fit(
        sources, epochs=2, eval_set=held_out)
    trainer = DaskTrainer(models()[kind](), client, n_workers=n_workers, shard_state=True)
    sharded = trainer.fit(sources, epochs=2, eval_set=held_out)
    reference = models()[kind]().fit(global_batches(sources), epochs=2)
    assert max_state_difference(sharded, replicated) < 1e-10
    assert max_state_difference(sharded, reference) < 1e-10
    assert sharded.steps_trained_ == 8
    # evaluated on the workers after the shards were put together: the same model
    assert sharded.history_[-1]["eval_logloss"] == pytest.approx(
        replicated.history_[-1]["eval_logloss"], rel=1e-9)
    assert all(len(log["bytes_per_worker"]) == n_workers for log in trainer.step_log_)


def test_shard_state_is_a_variant_of_sync_mode():
    with pytest.raises(ValueError, match="variant of mode='sync'"):
        DaskTrainer(models()["wide"](), client=None, mode="delta_sum", shard_state=True)


def wide_coordinates(batches):
    """Distinct contiguous wide coordinates of ``batches`` (fields user, item, user_x_item
    at offsets 0, 30, 70 of dask_world's wide model)."""
    if not batches:
        return np.zeros(0, dtype=np.int64)
    offsets = {"user": 0, "item": 30, "user_x_item": 70}
    return np.unique(np.concatenate([b[0][field].feature_ids + offset for b in batches
                                     for field, offset in offsets.items()]))


def test_bytes_per_worker_count_own_ids_served_rows_and_the_owned_sum(client):
    sources = partitions([[30, 12], [25], [], [40, 7]], seed=10)
    trainer = DaskTrainer(models()["wide"](), client, n_workers=2, shard_state=True)
    trainer.fit(sources, epochs=1)
    for step, log in enumerate(trainer.step_log_):
        shards = [wide_coordinates([s[step] for s in block if len(s) > step])
                  for block in (sources[:2], sources[2:])]
        total = np.union1d(*shards)
        expected = []
        for rank in range(2):
            own, other = shards[rank], shards[1 - rank]
            remote = own[own % 2 != rank]                     # pulled: id + float64 value
            served = np.unique(other[other % 2 == rank])      # asked by the other replica
            owned_sum = total[total % 2 == rank]              # id + value, plus the bias
            sent = 8 * remote.size + 8 * served.size + (16 * own.size + 8)
            received = 8 * served.size + 8 * remote.size + (16 * owned_sum.size + 8)
            expected.append(sent + received)
        assert log["bytes_per_worker"] == expected

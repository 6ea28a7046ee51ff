"""shard_state=True: worker r owns the rows with id % W == r; the trained model equals
replicated sync mode and the one-process run on the same global batches (float64)."""
import os
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep import WideDeepEstimator  # noqa: E402
from widedeep.dask import DaskTrainer, ShardLostError, global_batches  # noqa: E402
from widedeep.dask.workers import worker_addresses  # noqa: E402
from dask_world import DiesWhileReading, max_state_difference, models, partitions  # noqa: E402,E501
from test_worker_loss import kill_when  # noqa: E402

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


def test_rows_move_worker_to_worker_and_the_driver_sees_the_dense_part_only(client):
    sources = partitions([[30, 12], [25], [], [40, 7]], seed=10)
    trainer = DaskTrainer(models()["wide"](), client, n_workers=2, shard_state=True)
    trainer.fit(sources, epochs=1)
    for step, log in enumerate(trainer.step_log_):
        shards = [wide_coordinates([s[step] for s in block if len(s) > step])
                  for block in (sources[:2], sources[2:])]
        expected = []
        for rank in range(2):
            own, other = shards[rank], shards[1 - rank]
            remote = own[own % 2 != rank]     # pulled: id up, float64 value back
            served = other[other % 2 == rank]  # asked of it by the other replica
            # gradient slices: id + value per coordinate, plus a (zero) bias of 8 bytes
            pushed = 16 * remote.size + 8 if remote.size else 0
            received = 16 * served.size + 8 if served.size else 0
            peers = (8 * remote.size + 8 * served.size + pushed) \
                + (8 * served.size + 8 * remote.size + received)
            expected.append(8 + 8 + peers)   # the bias up to and back from the driver
        assert log["bytes_per_worker"] == expected
        assert (log["bytes_to_driver"], log["bytes_from_driver"]) == (16, 16)


def large_table_models():
    """dask_world's model with tables far larger than what its batches read: a wide cross
    of 50,000 coordinates and vocabularies of 20,000 and 10,000 rows (ids stay < 500)."""
    deep = dict(vocabularies={"item": (20_000, 4), "user": (10_000, 3)},
                embedding_fields={"user": "user", "item": "item", "history": "item"},
                combiners={"history": "mean"}, dense_fields={"context": 3},
                hidden_units=(8, 5), dropout=0.3, embedding_l2=0.05, dense_l2=0.02)
    wide_fields = {"user": 10_000, "item": 20_000, "user_x_item": 50_000}
    return WideDeepEstimator(wide_fields, **deep, dtype=np.float64, random_state=0)


def owned_bytes(n_rows, row_bytes, rank, n_workers):
    """Bytes of the rows ``rank, rank + W, ...`` of an array of ``n_rows`` rows."""
    return len(range(rank, n_rows, n_workers)) * row_bytes


@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_a_sharded_worker_holds_its_owned_rows_and_one_batch_window(client, n_workers):
    sources = partitions([[17, 9, 30], [22, 5], [12, 8, 3]], seed=12)
    trainer = DaskTrainer(large_table_models(), client, n_workers=n_workers,
                          shard_state=True)
    sharded = trainer.fit(sources, epochs=1)
    replicated = DaskTrainer(large_table_models(), client, n_workers=n_workers).fit(
        sources, epochs=1)
    assert max_state_difference(sharded, replicated) < 1e-10   # untouched rows included
    # the full tables, counted from the model's parameters (float64):
    # wide: 80,000 coordinates x (w, z, n); block0 = item (20,000 x 4), block1 = user
    # (10,000 x 3), each table + its AdaGrad accumulator
    full = {"wide": (80_000, 3 * 8), "block0": (20_000, 2 * 4 * 8),
            "block1": (10_000, 2 * 3 * 8)}
    full_total = sum(rows * row_bytes for rows, row_bytes in full.values())
    assert full_total == 80_000 * 24 + 20_000 * 64 + 10_000 * 48
    held = trainer.worker_sparse_bytes_
    assert len(held) == n_workers
    for rank, worker in enumerate(held):
        assert worker["store"] == {name: owned_bytes(rows, row_bytes, rank, n_workers)
                                   for name, (rows, row_bytes) in full.items()}
        assert sum(worker["store"].values()) <= full_total / n_workers + 136
        # the windows (compute + check) hold at most twice a batch's distinct rows
        assert sum(worker["window"].values()) < 0.02 * full_total
    assert sum(sum(w["store"].values()) for w in held) == full_total


def test_a_lost_shard_restarts_from_the_last_checkpoint_on_the_survivors(own_client,
                                                                        tmp_path):
    client = own_client
    sources = partitions([[20] * 6, [15] * 6, [9] * 6], seed=13)
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=3)
    # the third replica's worker dies while reading batch 2 of epoch 2 (index 1)
    sources[2] = DiesWhileReading(sources[2], at=2, marker=str(tmp_path / "died"),
                                  epoch=1)
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=3, shard_state=True,
                          poll_seconds=0.1, step_timeout=60)
    victim = worker_addresses(client)[2]
    trained = trainer.fit(sources, epochs=3, checkpoint_dir=tmp_path / "ckpt")
    assert [(r["lost"], r["epoch"], r["resumed_at_epoch"], r["workers"])
            for r in trainer.recoveries_] == [([victim], 1, 1, 2)]
    assert trained.steps_trained_ == reference.steps_trained_ == 18
    assert max_state_difference(trained, reference) < 1e-10


def test_a_lost_shard_without_a_checkpoint_names_the_worker(own_client, tmp_path):
    client = own_client
    sources = partitions([[20] * 6, [15] * 6, [9] * 6], seed=13)
    sources[1] = DiesWhileReading(sources[1], at=3, marker=str(tmp_path / "died"))
    victim = worker_addresses(client)[1]
    model = models()["wide_deep"]()
    trainer = DaskTrainer(model, client, n_workers=2, shard_state=True, poll_seconds=0.1,
                          step_timeout=60)
    with pytest.raises(ShardLostError, match="no checkpoint of this fit") as caught:
        trainer.fit(sources, epochs=1)
    assert caught.value.workers == [victim] and caught.value.ranks == [1]
    assert victim in str(caught.value)


def test_a_shard_sigkilled_mid_step_restarts_from_the_checkpoint_without_hanging(own_client,
                                                                                  tmp_path):
    client = own_client
    sources = partitions([[20] * 8, [15] * 8, [], [9] * 7, [30] * 8, [4] * 8], seed=14)
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=2)
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=3, shard_state=True,
                          poll_seconds=0.1, step_timeout=60)
    victim = worker_addresses(client)[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    done = threading.Event()
    killer = threading.Thread(target=kill_when, args=(trainer, 11, pid, done), daemon=True)
    killer.start()   # (at the 11th step's log: inside pass 2, in whichever phase)
    start = time.monotonic()
    try:
        trained = trainer.fit(sources, epochs=2, checkpoint_dir=tmp_path / "ckpt")
    finally:
        done.set()
        killer.join(timeout=10)
    assert time.monotonic() - start < 60
    assert [(r["lost"], r["resumed_at_epoch"], r["workers"]) for r in trainer.recoveries_] \
        == [([victim], 1, 2)]
    assert trained.steps_trained_ == reference.steps_trained_ == 16
    assert max_state_difference(trained, reference) < 1e-10


@pytest.mark.parametrize("shard_state", [False, True])
def test_a_fit_is_not_shadowed_by_data_held_under_the_names_of_its_parts(client,
                                                                        shard_state):
    # Dask scatters a dict value by value under the dict's keys and keeps the data of a
    # key already held: the trainer must not hand its replicas such keys
    held = client.scatter({name: "stale" for name in ("config", "state", "training_state",
                                                      "layout", "wide", "block0")},
                          hash=False)
    sources = partitions([[17, 9], [22]], seed=15)
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=1)
    trained = DaskTrainer(models()["wide_deep"](), client, n_workers=2,
                          shard_state=shard_state).fit(sources, epochs=1)
    assert max_state_difference(trained, reference) < 1e-10
    del held


def test_sharded_state_refuses_adam_saying_what_to_use_and_leaves_the_model(client):
    from widedeep.optim import Adam
    model = DaskTrainer(models(deep_optimizer=Adam())["deep"](), client, n_workers=2).fit(
        partitions(SIZES, seed=16), epochs=1)   # replicated sync mode takes Adam
    before = {key: value.copy() for key, value in model.get_state().items()}
    trainer = DaskTrainer(model.set_params(warm_start=True), client, n_workers=2,
                          shard_state=True)
    with pytest.raises(ValueError, match=r"shard_state=True needs optimizer state with "
                                         r"one row per parameter row.*use Adagrad"):
        trainer.fit(partitions(SIZES, seed=16), epochs=1)
    for key, value in model.get_state().items():
        np.testing.assert_array_equal(value, before[key])

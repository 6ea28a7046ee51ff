"""mode="delta_sum": W = 1 trains exactly as one process; for W = 2 the result equals an
independent one-process simulation (two copies trained with partial_fit on their local
batches, their state changes summed through `get_state`, dense values averaged, wide
weights from FTRL's closed form); two runs are identical."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer, global_batches  # noqa: E402
from widedeep.io.snapshot import estimator_from_snapshot, estimator_snapshot  # noqa: E402
from widedeep.optim import Adam  # noqa: E402
from dask_world import max_state_difference, models, partitions  # noqa: E402

SIZES = [[17, 9, 30], [], [5, 0, 12, 8], [22], [3, 3]]


def is_sparse(key):
    """FTRL state and embedding rows (with their accumulators) are summed; the rest
    (dense weights, their accumulators, batch-norm statistics) averaged."""
    return key.startswith("wide/") or key.startswith("deep/embedding/") \
        or key.startswith("deep_optimizer/embedding/")


def merged_state(start, copies):
    """S0 + sum of the copies' changes on the sparse state, the mean on the dense state;
    wide weights recomputed from the merged z, n (the weights are not state of their own)."""
    states = [copy.get_state(copy=True) for copy in copies]
    merged = {}
    for key, initial in start.items():
        if key.startswith("wide/") and key.endswith("/w"):
            continue
        if is_sparse(key):
            merged[key] = initial + sum(state[key] - initial for state in states)
        else:
            merged[key] = sum(state[key] for state in states) / len(states)
    wide = copies[0].wide_ if hasattr(copies[0], "wide_") else None
    if wide is not None:
        for name in wide.params:
            ftrl = wide.field_ftrl(name)
            merged[f"wide/{name}/w"] = ftrl.weights(merged[f"wide/{name}/z"],
                                                    merged[f"wide/{name}/n"])
    return merged


def simulate_delta_sum(model, blocks, merge_every):
    """delta_sum in one process: copy r trains on the global batches of its block of
    partitions (its local batches), ``merge_every`` at a time, then all copies merge."""
    model.initialize()
    copies = [model] + [estimator_from_snapshot(estimator_snapshot(model))
                        for _ in blocks[1:]]
    for rank, copy in enumerate(copies[1:], start=1):   # the documented dropout streams
        training = copy.get_training_state()
        training["dropout_rng"] = np.random.default_rng([copy.seed_, 2, rank, 0]) \
            .bit_generator.state
        copy.set_training_state(training)
    local = [list(global_batches(block)) for block in blocks]
    position = 0
    while any(position < len(batches) for batches in local):
        start = model.get_state(copy=True)
        for copy, batches in zip(copies, local):
            for features, y, weights in batches[position:position + merge_every]:
                copy.partial_fit(features, y, weights)
        position += merge_every
        merged = merged_state(start, copies)
        for copy in copies:
            copy.set_state(merged)
    return model


@pytest.mark.parametrize("kind", ["wide", "wide_deep"])
def test_one_worker_delta_sum_equals_one_process_training_exactly(client, kind):
    sources = partitions(SIZES)
    reference = models()[kind]().fit(global_batches(sources), epochs=2)
    trainer = DaskTrainer(models()[kind](), client, n_workers=1, mode="delta_sum",
                          merge_every=3)
    trained = trainer.fit(sources, epochs=2)
    assert max_state_difference(trained, reference) == 0.0
    assert trained.steps_trained_ == reference.steps_trained_ == 8
    assert trained._dropout_rng.bit_generator.state == reference._dropout_rng.bit_generator.state
    assert [log["local_steps"] for log in trainer.step_log_] == [3, 1, 3, 1]


@pytest.mark.parametrize("merge_every", [1, 2])
def test_two_workers_equal_the_one_process_simulation_of_summed_deltas(client, merge_every):
    sources = partitions(SIZES, seed=5)
    blocks = [sources[:2], sources[2:]]              # DaskTrainer's contiguous blocks
    reference = simulate_delta_sum(models()["wide_deep"](), blocks, merge_every)
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=2, mode="delta_sum",
                          merge_every=merge_every)
    trained = trainer.fit(sources, epochs=1)
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.steps_trained_ == 4               # rank 1 has 4 local batches
    assert trained.history_[-1]["examples"] == 109
    assert all(log["bytes_to_driver"] > 0 for log in trainer.step_log_)
    # what each replica sends (its delta) and receives (the merge) adds up to the totals
    assert all(sum(log["bytes_per_worker"]) == log["bytes_to_driver"] + log["bytes_from_driver"]
               for log in trainer.step_log_)


def test_delta_sum_is_not_sync_and_repeats_exactly(client):
    sources = partitions(SIZES, seed=6)
    runs = [DaskTrainer(models()["wide_deep"](), client, n_workers=3, mode="delta_sum",
                        merge_every=2).fit(sources, epochs=2) for _ in range(2)]
    assert max_state_difference(runs[0], runs[1]) == 0.0
    sync = DaskTrainer(models()["wide_deep"](), client, n_workers=3).fit(sources, epochs=2)
    assert max_state_difference(runs[0], sync) > 1e-3


def test_delta_sum_refuses_a_step_counting_deep_optimizer(client):
    model = models(deep_optimizer=Adam())["deep"]()
    with pytest.raises(ValueError, match="use AdaGrad"):
        DaskTrainer(model, client, n_workers=2, mode="delta_sum").fit(partitions(SIZES))


def test_merge_every_is_validated():
    with pytest.raises(ValueError, match="merge_every must be a positive int"):
        DaskTrainer(models()["wide"](), client=None, mode="delta_sum", merge_every=0)
    with pytest.raises(ValueError, match="mode='delta_sum' only"):
        DaskTrainer(models()["wide"](), client=None, merge_every=4)

"""mode="delta_sum" with a lost worker: the W logical ranks are re-placed on the surviving
workers at the last merged state, the round in flight is redone (or counted, when the
survivors had merged it), and the final model equals an uninterrupted run (float64)."""
import os
import signal
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

import widedeep.dask.delta_sum as delta_sum  # noqa: E402
from widedeep.dask import DaskTrainer  # noqa: E402
from widedeep.dask.workers import worker_addresses  # noqa: E402
from dask_world import DiesWhileReading, max_state_difference, models, partitions  # noqa: E402,E501

SIZES = [[20] * 6, [15] * 6, [9] * 6]


def uninterrupted(client, sources):
    return DaskTrainer(models()["wide_deep"](), client, n_workers=3, mode="delta_sum",
                       merge_every=2).fit(sources, epochs=2)


def assert_same_run(trained, reference):
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.steps_trained_ == reference.steps_trained_
    assert trained._dropout_rng.bit_generator.state == reference._dropout_rng.bit_generator.state
    assert [r["train_logloss"] for r in trained.history_] == pytest.approx(
        [r["train_logloss"] for r in reference.history_], rel=1e-12)
    assert [r["merges"] for r in trained.history_] == [r["merges"] for r in reference.history_]


def test_a_worker_lost_in_its_local_steps_is_rolled_back_and_the_round_redone(own_client,
                                                                             tmp_path):
    sources = partitions(SIZES, seed=7)
    reference = uninterrupted(own_client, sources)
    victim = worker_addresses(own_client)[2]
    # rank 2's worker kills itself while reading its local batch 3 of pass 2, inside the
    # local steps of round 1 of that pass (batches 2 and 3): the survivors have stepped
    sources[2] = DiesWhileReading(sources[2], at=3, marker=str(tmp_path / "died"), epoch=1)
    trainer = DaskTrainer(models()["wide_deep"](), own_client, n_workers=3,
                          mode="delta_sum", merge_every=2, poll_seconds=0.1,
                          step_timeout=60)
    trained = trainer.fit(sources, epochs=2)
    [recovery] = trainer.recoveries_
    assert (recovery["epoch"], recovery["phase"], recovery["round"],
            recovery["resumed_at_round"]) == (1, "local steps", 1, 1)
    assert recovery["lost"] == [victim] and recovery["workers"] == 2
    placement = recovery["placement"]
    assert len(placement) == 3 and victim not in placement and len(set(placement)) == 2
    assert_same_run(trained, reference)
    assert [log["round"] for log in trainer.step_log_ if log["epoch"] == 1] == [0, 1, 2]


def test_a_worker_sigkilled_as_the_merge_goes_out_counts_the_merged_round(own_client,
                                                                         monkeypatch):
    sources = partitions(SIZES, seed=8)
    reference = uninterrupted(own_client, sources)
    victim = worker_addresses(own_client)[0]
    pid = own_client.run(os.getpid, workers=[victim])[victim]
    merges = []

    def merge_then_kill(deltas):   # SIGKILL rank 0's worker before the 4th merge is sent
        merges.append(1)
        if len(merges) == 4:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while victim in own_client.nthreads() and time.monotonic() < deadline:
                time.sleep(0.05)
        return merge_deltas(deltas)

    merge_deltas = delta_sum.merge_deltas
    monkeypatch.setattr(delta_sum, "merge_deltas", merge_then_kill)
    trainer = DaskTrainer(models()["wide_deep"](), own_client, n_workers=3,
                          mode="delta_sum", merge_every=2, poll_seconds=0.1,
                          step_timeout=60)
    start = time.monotonic()
    trained = trainer.fit(sources, epochs=2)
    assert time.monotonic() - start < 60
    [recovery] = trainer.recoveries_
    # round 0 of pass 2 (the 4th merge): the survivors merged it, so it is not redone
    assert (recovery["epoch"], recovery["phase"], recovery["round"],
            recovery["resumed_at_round"]) == (1, "merge", 0, 1)
    assert recovery["lost"] == [victim] and victim not in recovery["placement"]
    assert_same_run(trained, reference)
    assert len(merges) == 6     # no round merged twice
    assert np.isnan(trainer.step_log_[3]["apply_ms"])


def test_when_no_worker_of_the_run_survives_fit_raises_and_leaves_the_model(own_client,
                                                                           tmp_path):
    sources = partitions(SIZES, seed=9)
    model = DaskTrainer(models()["wide_deep"](), own_client, n_workers=1).fit(sources,
                                                                              epochs=1)
    before = {key: value.copy() for key, value in model.get_state().items()}
    sources[0] = DiesWhileReading(sources[0], at=3, marker=str(tmp_path / "died"))
    trainer = DaskTrainer(model.set_params(warm_start=True), own_client, n_workers=1,
                          mode="delta_sum", merge_every=2, poll_seconds=0.1,
                          step_timeout=60)
    with pytest.raises(RuntimeError, match="every worker holding a replica was lost"):
        trainer.fit(sources, epochs=1)
    for key, value in model.get_state().items():
        np.testing.assert_array_equal(value, before[key])
    assert model.steps_trained_ == 6 and model.epochs_trained_ == 1

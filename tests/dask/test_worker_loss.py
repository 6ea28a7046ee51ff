"""A worker SIGKILLed during fit: no hang, the step in flight is redone on the survivors,
and the final model equals an uninterrupted run's (float64, 1e-10)."""
import os
import signal
import threading
import time

import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer, global_batches  # noqa: E402
from widedeep.dask.workers import worker_addresses  # noqa: E402
from dask_world import DiesWhileReading, max_state_difference, models, partitions  # noqa: E402,E501


def kill_when(trainer, steps, pid, done):
    """SIGKILL ``pid`` once the trainer has logged ``steps`` steps."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not done.is_set():
        if len(getattr(trainer, "step_log_", [])) >= steps:
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.001)


def test_sigkill_of_a_worker_mid_fit_gives_the_uninterrupted_model(own_client):
    client = own_client
    sources = partitions([[20] * 12, [15] * 12, [], [9] * 10, [30] * 12, [4] * 12])
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=2)
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=3, poll_seconds=0.1,
                          step_timeout=60)
    victim = worker_addresses(client)[1]
    pid = client.run(os.getpid, workers=[victim])[victim]
    done = threading.Event()
    killer = threading.Thread(target=kill_when, args=(trainer, 5, pid, done), daemon=True)
    killer.start()
    start = time.monotonic()
    try:
        trained = trainer.fit(sources, epochs=2)
    finally:
        done.set()
        killer.join(timeout=10)
    assert time.monotonic() - start < 60
    assert len(trainer.recoveries_) == 1
    recovery = trainer.recoveries_[0]
    assert recovery["lost"] == [victim] and recovery["workers"] == 2
    assert trained.steps_trained_ == reference.steps_trained_ == 24
    assert max_state_difference(trained, reference) < 1e-10
    assert trained._dropout_rng.bit_generator.state == reference._dropout_rng.bit_generator.state


def test_a_worker_lost_in_the_apply_phase_is_not_applied_twice(own_client, tmp_path):
    client = own_client
    sources = partitions([[20] * 8, [15] * 8, [9] * 8])
    reference = models()["wide_deep"]().fit(global_batches(sources), epochs=1)
    sources[2] = DiesWhileReading(sources[2], at=4, marker=str(tmp_path / "died"))
    trainer = DaskTrainer(models()["wide_deep"](), client, n_workers=3, poll_seconds=0.1,
                          step_timeout=60)
    trained = trainer.fit(sources, epochs=1)
    assert [(r["phase"], r["step"], r["resumed_at_step"]) for r in trainer.recoveries_] \
        == [("apply", 3, 4)]
    assert trained.steps_trained_ == 8
    assert max_state_difference(trained, reference) < 1e-10

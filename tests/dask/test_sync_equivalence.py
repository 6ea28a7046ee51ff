"""The central test: W replicas in float64 train exactly as one process on the same
global batch sequence (1e-10), for W = 1, 2, 3 with uneven and empty partitions."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer, global_batches  # noqa: E402
from dask_world import max_state_difference, models, partitions  # noqa: E402

# partition p: its batch sizes; one partition empty, one with an empty batch, one longer
SIZES = [[17, 9, 30], [], [5, 0, 12, 8], [22], [3, 3]]


@pytest.mark.parametrize("kind", ["wide", "deep", "wide_deep"])
@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_sync_training_equals_one_process_on_the_global_batches(client, kind, n_workers):
    sources = partitions(SIZES)
    reference = models()[kind]().fit(global_batches(sources), epochs=2)
    trained = DaskTrainer(models()[kind](), client, n_workers=n_workers).fit(sources, epochs=2)
    assert max_state_difference(trained, reference) < 1e-10
    assert trained.steps_trained_ == reference.steps_trained_ == 8
    assert trained.epochs_trained_ == 2
    assert trained._dropout_rng.bit_generator.state == reference._dropout_rng.bit_generator.state
    assert [r["examples"] for r in trained.history_] == [109, 109]
    np.testing.assert_allclose([r["train_logloss"] for r in trained.history_],
                               [r["train_logloss"] for r in reference.history_], rtol=1e-9)

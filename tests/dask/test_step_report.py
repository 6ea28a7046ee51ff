"""The worker guards are applied, and the per-step report's bytes match the size of the
gradients a wide model sends (counted independently from the shards' ids)."""
import numpy as np
import pytest

pytest.importorskip("distributed")

from widedeep.dask import DaskTrainer  # noqa: E402
from widedeep.dask.environment import DEFAULT_MALLOC_TRIM_THRESHOLD  # noqa: E402
from dask_world import models, partitions  # noqa: E402

WIDE_FIELDS = ("user", "item", "user_x_item")


def distinct_coordinates(batches):
    """Distinct wide coordinates of the rows of ``batches`` (fields do not share any)."""
    return sum(np.unique(np.concatenate([b[0][f].feature_ids for b in batches])).shape[0]
               for f in WIDE_FIELDS) if batches else 0


def test_guards_are_applied_and_bytes_per_step_match_the_gradient_sizes(client):
    sources = partitions([[30, 12], [25], [], [40, 7]])
    trainer = DaskTrainer(models()["wide"](), client, n_workers=2)
    trainer.fit(sources, epochs=1)
    for environment in trainer.worker_environment_:
        assert environment["malloc_trim_threshold"] == DEFAULT_MALLOC_TRIM_THRESHOLD
        assert set(environment.get("blas_threads", [1])) == {1}
    # rank 0 reads sources 0-1, rank 1 sources 2-3; a shard sends int64 ids + float64
    # values per distinct coordinate and an 8-byte bias; the sum goes to both replicas
    for step, log in enumerate(trainer.step_log_):
        shards = [[s[step] for s in sources[:2] if len(s) > step],
                  [s[step] for s in sources[2:] if len(s) > step]]
        expected_up = sum(16 * distinct_coordinates(shard) + 8 for shard in shards)
        expected_down = 2 * (16 * distinct_coordinates(shards[0] + shards[1]) + 8)
        assert (log["bytes_to_driver"], log["bytes_from_driver"]) == \
            (expected_up, expected_down)
        assert log["wall_ms"] >= log["compute_ms"] + log["apply_ms"] > 0
        assert log["communication_ms"] >= 0
    assert [log["rows"] for log in trainer.step_log_] == [95, 19]

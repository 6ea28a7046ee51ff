"""What `DaskTrainer` raises when a worker is lost: `WorkerLostError` (inside the trainer,
caught and recovered from) and `ShardLostError` (sharded state without a checkpoint)."""
from __future__ import annotations

__all__ = ["WorkerLostError", "ShardLostError"]


class WorkerLostError(RuntimeError):
    """A worker holding a replica died (or became unreachable) during a step."""

    def __init__(self, ranks):
        super().__init__(f"lost the worker(s) of replica rank(s) {sorted(ranks)}")
        self.ranks = sorted(ranks)


class ShardLostError(RuntimeError):
    """A worker of ``DaskTrainer(shard_state=True)`` died: its rows are gone with it.
    ``workers`` are the lost addresses, ``ranks`` their shards; the message says which
    checkpoint to resume from."""

    def __init__(self, lost, workers, epoch, step, hint):
        where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
        super().__init__(f"widedeep.dask: lost worker(s) {workers} (shard(s) {lost.ranks}) "
                         f"during the {lost.phase} phase ({where}) of shard_state=True "
                         f"training; their rows exist nowhere else, so training stops; "
                         f"{hint}")
        self.workers, self.ranks, self.phase = workers, lost.ranks, lost.phase
        self.epoch, self.step = epoch, step

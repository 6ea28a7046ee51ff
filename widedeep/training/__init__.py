"""One training step in three phases: compute gradients, combine them, apply them.

- `gradients.py`: `StepGradient`, what a step computes from a batch (or a shard of one),
  and `sum_gradients`, the exact sum of several;
- `step.py`: `TrainingStep`, the owner of the step (`compute`, `combine`, `apply`) for the
  wide part, the deep part or both, asking the loss object for the gradient;
- `deltas.py`: `DeltaTracker` / `merge_deltas`, what local steps changed and the merge of
  several replicas' changes (sparse summed, dense averaged; Dask's delta_sum mode);
- `prefetch.py`: `Prefetched`, the next batch read on a background thread (``fit(...,
  prefetch=True)``).

This stage sits between the layers/optimizers and the estimators: it imports layers,
optim and losses, and is used by `widedeep.estimators`.
"""
from .gradients import StepGradient, sum_gradients
from .step import TrainingStep, init_deep_optimizer_state

__all__ = ["StepGradient", "sum_gradients", "TrainingStep", "init_deep_optimizer_state"]

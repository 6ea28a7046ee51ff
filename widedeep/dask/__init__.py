"""widedeep on Dask (the optional extra ``widedeep[dask]``: ``pip install "widedeep[dask]"``).

- `DaskTrainer` (``trainer.py``): exact synchronous data-parallel training; each worker
  holds a replica (``replica.py``), reads its own partitions (``sources.py``) and computes
  the gradient of its rows of each global batch; the sum is applied on every replica.
- `partition_sources` / `global_batches` (``sources.py``): the per-partition batch sources
  `DaskTrainer.fit` reads, and their global batch sequence in one process.
- `fit_spec` (``spec_fit.py``): a `FeatureSpec` fitted on a dask DataFrame, equal to a
  one-process fit on the same rows.
- `apply_worker_guards` (``environment.py``): one BLAS thread, glibc trim threshold.

The core library never imports this package.
"""
try:
    import distributed  # noqa: F401
except ImportError as error:   # pragma: no cover - exercised only without the extra
    raise ImportError("widedeep.dask needs dask and distributed: pip install "
                      "'widedeep[dask]'") from error

from .environment import apply_worker_guards
from .sources import global_batches, partition_sources
from .spec_fit import fit_spec
from .trainer import DaskTrainer, ShardLostError, WorkerLostError

__all__ = ["DaskTrainer", "ShardLostError", "WorkerLostError", "fit_spec", "global_batches",
           "partition_sources", "apply_worker_guards"]

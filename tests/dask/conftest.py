"""One small LocalCluster (3 single-threaded worker processes on 127.0.0.1) for every Dask
test; skipped cleanly when dask.distributed is not installed."""
import pytest


@pytest.fixture(scope="session")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       memory_limit="1GiB", silence_logs=40)
    with distributed.Client(cluster, timeout=60) as dask_client:
        yield dask_client
    cluster.close(timeout=30)

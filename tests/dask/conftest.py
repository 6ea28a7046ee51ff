"""Small LocalClusters (3 single-threaded worker processes on 127.0.0.1) for the Dask
tests; skipped cleanly when dask.distributed is not installed.

``client`` is shared by the session. A test that kills a worker takes ``own_client``, a
cluster of its own: on a loaded machine a nanny can fail to restart its killed worker
(and then gives up), which must not leave the other tests a worker short."""
import contextlib

import pytest


@contextlib.contextmanager
def local_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0",
                                       memory_limit="1GiB", silence_logs=40)
    try:
        with distributed.Client(cluster, timeout=60) as dask_client:
            yield dask_client
    finally:
        cluster.close(timeout=30)


@pytest.fixture(scope="session")
def client():
    with local_client() as dask_client:
        yield dask_client


@pytest.fixture
def own_client():
    with local_client() as dask_client:
        yield dask_client
